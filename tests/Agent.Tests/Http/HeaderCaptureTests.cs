using System.Diagnostics;
using System.Net.Http.Headers;
using TraceAgent.Http;

namespace TraceAgent.Tests.Http;

public sealed class HeaderCaptureTests
{
    [Fact]
    public void Headers_kept_with_the_body_are_found_in_the_contents_headers()
    {
        var capture = new HeaderCapture("http.response.header.", ["Content-Type", "X-Served-By", "Content-Length", "X-Absent"]);
        using var response = new HttpResponseMessage { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        response.Headers.Add("X-Served-By", ["a", "b"]);
        response.Content.Headers.ContentLength = 2;
        using var activity = new Activity("capture").Start();

        capture.Capture(activity, response.Headers, response.Content);

        Assert.Equal(new[] { "application/json; charset=utf-8" }, activity.GetTagItem("http.response.header.content-type"));
        Assert.Equal(new[] { "a", "b" }, activity.GetTagItem("http.response.header.x-served-by"));
        Assert.Equal(new[] { "2" }, activity.GetTagItem("http.response.header.content-length"));
        Assert.Null(activity.GetTagItem("http.response.header.x-absent"));
    }

    [Fact]
    public void A_request_without_a_body_has_only_its_own_headers()
    {
        var capture = new HeaderCapture("http.request.header.", ["Content-Type", "Accept"]);
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1/");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
        using var activity = new Activity("capture").Start();

        capture.Capture(activity, request.Headers, request.Content);

        Assert.Equal(new[] { "text/plain" }, activity.GetTagItem("http.request.header.accept"));
        Assert.Null(activity.GetTagItem("http.request.header.content-type"));
    }
}
