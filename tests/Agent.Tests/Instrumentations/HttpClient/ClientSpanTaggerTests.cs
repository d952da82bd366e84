using System.Diagnostics;
using System.Net;
using System.Net.Http;
using TraceAgent.Instrumentation.HttpClient;

namespace TraceAgent.Tests.Instrumentations.HttpClient;

// Expected attributes from the HTTP client span conventions:
// https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-client
public sealed class ClientSpanTaggerTests : IDisposable
{
    private readonly TestSpans _spans = new();

    public void Dispose() => _spans.Dispose();

    [Fact]
    public void Request_sets_method_server_and_a_redacted_url()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://user:secret@api.example:8443/v1/items?id=7&sig=abc#frag");
        using var activity = _spans.Start("request", ActivityKind.Client);

        new ClientSpanTagger(redactQuery: true).OnStart(activity, request);

        Assert.Equal("POST", activity.GetTagItem("http.request.method"));
        Assert.Equal("POST", activity.DisplayName);
        Assert.Equal("api.example", activity.GetTagItem("server.address"));
        Assert.Equal(8443, activity.GetTagItem("server.port"));

        // url.full as .NET 9 and later write it: no credentials, the query reduced to "?*", no fragment.
        Assert.Equal("https://api.example:8443/v1/items?*", activity.GetTagItem("url.full"));
    }

    [Fact]
    public void With_query_redaction_off_the_query_is_kept_and_credentials_redacted()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://user:secret@api.example/v1/items?id=7&sig=abc");
        using var activity = _spans.Start("request", ActivityKind.Client);

        new ClientSpanTagger(redactQuery: false).OnStart(activity, request);

        Assert.Equal("https://REDACTED:REDACTED@api.example/v1/items?id=7&sig=abc", activity.GetTagItem("url.full"));
    }

    [Fact]
    public void Unknown_method_is_other_with_the_original_kept()
    {
        using var request = new HttpRequestMessage(new HttpMethod("PURGE"), "http://cache.local/x");
        using var activity = _spans.Start("request", ActivityKind.Client);

        new ClientSpanTagger(redactQuery: true).OnStart(activity, request);

        Assert.Equal("_OTHER", activity.GetTagItem("http.request.method"));
        Assert.Equal("PURGE", activity.GetTagItem("http.request.method_original"));
        Assert.Equal("HTTP", activity.DisplayName);

        // No port in the URL: the scheme's default.
        Assert.Equal(80, activity.GetTagItem("server.port"));
    }

    [Theory]
    // For a client span every status of 400 and above is an error, with the status code as error.type.
    [InlineData(HttpStatusCode.OK, null)]
    [InlineData(HttpStatusCode.Found, null)]
    [InlineData(HttpStatusCode.NotFound, "404")]
    [InlineData(HttpStatusCode.InternalServerError, "500")]
    public void Response_status_decides_the_error(HttpStatusCode status, string? errorType)
    {
        using var response = new HttpResponseMessage(status) { Version = HttpVersion.Version20 };
        using var activity = _spans.Start("request", ActivityKind.Client);

        ClientSpanTagger.OnResponse(activity, response);

        Assert.Equal((int)status, activity.GetTagItem("http.response.status_code"));
        Assert.Equal("2", activity.GetTagItem("network.protocol.version"));
        Assert.Equal(errorType, activity.GetTagItem("error.type"));
        Assert.Equal(errorType is null ? ActivityStatusCode.Unset : ActivityStatusCode.Error, activity.Status);
    }

    [Fact]
    public void Connection_failure_uses_the_conventions_error_type()
    {
        using var activity = _spans.Start("request", ActivityKind.Client);

        ClientSpanTagger.OnException(activity, new HttpRequestException(HttpRequestError.ConnectionError, "refused"));

        Assert.Equal("connection_error", activity.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, activity.Status);
        Assert.Contains(activity.Events, e => e.Name == "exception");
    }

    [Fact]
    public void Cancelled_request_is_an_error_of_type_TaskCanceledException()
    {
        using var activity = _spans.Start("request", ActivityKind.Client);

        ClientSpanTagger.OnCancelled(activity);

        Assert.Equal("System.Threading.Tasks.TaskCanceledException", activity.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, activity.Status);
    }
}
