using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation.AspNetCore;

namespace TraceAgent.Tests.Instrumentations.AspNetCore;

// Expected attributes from the HTTP server span conventions:
// https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-server
public sealed class ServerSpanTaggerTests : IDisposable
{
    private readonly TestSpans _spans = new();

    public void Dispose() => _spans.Dispose();

    [Fact]
    public void Request_parts_route_and_status_become_attributes()
    {
        var context = Request("GET", "https", "shop.example:8443", "/api", "/orders/42", "?id=42&token=s3cret");
        context.Connection.RemoteIpAddress = IPAddress.Parse("::ffff:10.1.2.3");
        context.Request.Headers.UserAgent = "curl/8.5.0";
        context.Request.Protocol = "HTTP/2";
        var tagger = new ServerSpanTagger(Settings());
        using var activity = _spans.Start("request", ActivityKind.Server);

        tagger.OnStart(activity, context);
        context.SetEndpoint(Endpoint("orders/{id}"));
        context.Response.StatusCode = 200;
        tagger.End(activity, context);

        Assert.Equal("GET", activity.GetTagItem("http.request.method"));
        Assert.Equal("https", activity.GetTagItem("url.scheme"));
        Assert.Equal("/api/orders/42", activity.GetTagItem("url.path"));
        Assert.Equal("shop.example", activity.GetTagItem("server.address"));
        Assert.Equal(8443, activity.GetTagItem("server.port"));
        Assert.Equal("10.1.2.3", activity.GetTagItem("client.address"));
        Assert.Equal("curl/8.5.0", activity.GetTagItem("user_agent.original"));
        Assert.Equal("2", activity.GetTagItem("network.protocol.version"));
        Assert.Equal(200, activity.GetTagItem("http.response.status_code"));

        // http.route is the matched template, and the span is named "{method} {http.route}".
        Assert.Equal("/orders/{id}", activity.GetTagItem("http.route"));
        Assert.Equal("GET /orders/{id}", activity.DisplayName);

        // A 2xx response leaves the status unset.
        Assert.Equal(ActivityStatusCode.Unset, activity.Status);
        Assert.Null(activity.GetTagItem("error.type"));
    }

    [Fact]
    public void The_path_is_taken_as_the_request_arrives_and_the_rest_as_it_ends_without_replacing_what_the_span_has()
    {
        var context = Request("GET", "http", "localhost:5000", string.Empty, "/old/7", string.Empty);
        var tagger = new ServerSpanTagger(Settings());
        using var activity = _spans.Start("request", ActivityKind.Server);

        tagger.OnStart(activity, context);
        Assert.Equal([new("url.path", "/old/7")], activity.TagObjects);

        // Rewritten by middleware, and tagged by the app itself, during the request.
        context.Request.Path = "/new/7";
        context.Request.Method = "POST";
        activity.SetTag("client.address", "203.0.113.9");
        context.Response.StatusCode = 201;
        tagger.End(activity, context);

        Assert.Equal("/old/7", activity.GetTagItem("url.path"));
        Assert.Equal("POST", activity.GetTagItem("http.request.method"));
        Assert.Equal("203.0.113.9", activity.GetTagItem("client.address"));
        Assert.Equal(201, activity.GetTagItem("http.response.status_code"));
        Assert.Equal(5000, activity.GetTagItem("server.port"));
        Assert.Single(activity.TagObjects, t => t.Key == "client.address");
    }

    [Fact]
    public void Query_keys_are_kept_and_every_value_is_redacted()
    {
        var context = Request("GET", "http", "localhost", string.Empty, "/search", "?q=private+words&api_key=abc123&flag");
        var tagger = new ServerSpanTagger(Settings());
        using var activity = _spans.Start("request", ActivityKind.Server);

        tagger.OnStart(activity, context);
        tagger.End(activity, context);

        var query = Assert.IsType<string>(activity.GetTagItem("url.query"));
        Assert.Equal("q=REDACTED&api_key=REDACTED&flag", query);
        Assert.DoesNotContain("private", query, StringComparison.Ordinal);
        Assert.DoesNotContain("abc123", query, StringComparison.Ordinal);

        // Without a port in Host, server.port is the scheme's default.
        Assert.Equal(80, activity.GetTagItem("server.port"));
    }

    [Fact]
    public void Server_errors_set_error_status_and_type_but_client_errors_do_not()
    {
        var tagger = new ServerSpanTagger(Settings());

        var failed = Request("POST", "http", "localhost", string.Empty, "/pay", string.Empty);
        using var server = _spans.Start("request", ActivityKind.Server);
        tagger.OnStart(server, failed);
        failed.Response.StatusCode = 503;
        tagger.End(server, failed);
        Assert.Equal(ActivityStatusCode.Error, server.Status);
        Assert.Equal("503", server.GetTagItem("error.type"));

        // For a server span, 4xx is the client's error: status stays unset.
        var missing = Request("GET", "http", "localhost", string.Empty, "/nothing", string.Empty);
        using var client = _spans.Start("request", ActivityKind.Server);
        tagger.OnStart(client, missing);
        missing.Response.StatusCode = 404;
        tagger.End(client, missing);
        Assert.Equal(ActivityStatusCode.Unset, client.Status);
        Assert.Null(client.GetTagItem("error.type"));

        // No route matched: the span is named after the method alone.
        Assert.Equal("GET", client.DisplayName);
        Assert.Null(client.GetTagItem("http.route"));
    }

    [Fact]
    public void Unhandled_exception_sets_its_type_and_an_exception_event()
    {
        using var activity = _spans.Start("request", ActivityKind.Server);

        ServerSpanTagger.OnException(activity, new InvalidOperationException("boom"));

        Assert.Equal("System.InvalidOperationException", activity.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, activity.Status);
        var exception = Assert.Single(activity.Events, e => e.Name == "exception");
        Assert.Contains(exception.Tags, t => t.Key == "exception.type" && (string?)t.Value == "System.InvalidOperationException");
    }

    [Fact]
    public void Unknown_method_is_reported_as_other_with_the_original_kept()
    {
        var context = Request("PURGE", "http", "localhost", string.Empty, "/cache", string.Empty);
        var tagger = new ServerSpanTagger(Settings());
        using var activity = _spans.Start("request", ActivityKind.Server);

        tagger.OnStart(activity, context);
        Assert.Equal("HTTP", activity.DisplayName);
        tagger.End(activity, context);

        Assert.Equal("_OTHER", activity.GetTagItem("http.request.method"));
        Assert.Equal("PURGE", activity.GetTagItem("http.request.method_original"));
    }

    [Theory]
    [InlineData("GET", "HTTP/1.1", "1.1")]
    [InlineData("POST", "HTTP/2", "2")]
    [InlineData("DELETE", "HTTP/1.0", "1.0")]
    [InlineData("PATCH", "HTTP/3", "3")]
    public void Methods_and_protocols_given_as_new_strings_are_known(string method, string protocol, string version)
    {
        // Kestrel hands the common methods over as its interned constants; another server, or a
        // test host, may make new strings of the same text: they are the same method.
        var context = Request(new string(method.AsSpan()), "http", "localhost", string.Empty, "/orders/42", string.Empty);
        context.Request.Protocol = new string(protocol.AsSpan());
        var tagger = new ServerSpanTagger(Settings());
        using var activity = _spans.Start("request", ActivityKind.Server);

        tagger.OnStart(activity, context);
        context.SetEndpoint(Endpoint("orders/{id}"));
        tagger.End(activity, context);

        Assert.Equal(method, activity.GetTagItem("http.request.method"));
        Assert.Null(activity.GetTagItem("http.request.method_original"));
        Assert.Equal(version, activity.GetTagItem("network.protocol.version"));
        Assert.Equal(method + " /orders/{id}", activity.DisplayName);
    }

    private static AspNetCoreSettings Settings() => new([], [], RedactQuery: true, []);

    private static DefaultHttpContext Request(string method, string scheme, string host, string pathBase, string path, string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Scheme = scheme;
        context.Request.Host = new HostString(host);
        context.Request.PathBase = pathBase;
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        context.Request.Protocol = "HTTP/1.1";
        return context;
    }

    private static RouteEndpoint Endpoint(string template) =>
        new(_ => Task.CompletedTask, RoutePatternFactory.Parse(template), 0, EndpointMetadataCollection.Empty, template);
}
