using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Http;

namespace TraceAgent.Instrumentation.HttpClient;

/// <summary>
/// Reads the request and response that the runtime's "HttpHandlerDiagnosticListener" events carry:
/// for URL filters (the span is unsampled before its headers are injected, so nothing downstream
/// is sampled either) and for capturing chosen headers.
/// </summary>
internal sealed class HttpClientDiagnosticObserver
{
    private const string StartEvent = "System.Net.Http.HttpRequestOut.Start";
    private const string StopEvent = "System.Net.Http.HttpRequestOut.Stop";

    private readonly GlobPattern _excluded;
    private readonly HeaderCapture _requestHeaders;
    private readonly HeaderCapture _responseHeaders;
    private readonly PropertyFetcher _request = new("Request");
    private readonly PropertyFetcher _response = new("Response");

    public HttpClientDiagnosticObserver(HttpSettings settings)
    {
        _excluded = new GlobPattern(settings.ExcludedClientUrls);
        _requestHeaders = new HeaderCapture("http.request.header.", settings.ClientRequestHeaders);
        _responseHeaders = new HeaderCapture("http.response.header.", settings.ClientResponseHeaders);
    }

    public IDisposable Subscribe() => DiagnosticListeners.Subscribe(
        "HttpHandlerDiagnosticListener",
        static name => name is "System.Net.Http.HttpRequestOut" or StartEvent or StopEvent,
        OnEvent,
        "HttpClient diagnostic event");

    private void OnEvent(string name, object? payload)
    {
        var activity = Activity.Current;
        if (activity is null || !activity.Recorded || activity.Source.Name != HttpClientInstrumentation.SourceName)
        {
            return;
        }

        if (name == StartEvent && _request.Fetch(payload) is HttpRequestMessage request)
        {
            if (!_excluded.IsEmpty && request.RequestUri is { } uri && _excluded.Matches(uri.GetLeftPart(UriPartial.Path)))
            {
                activity.IsAllDataRequested = false;
                activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
                return;
            }

            _requestHeaders.Capture(activity, request.Headers);
        }
        else if (name == StopEvent && _response.Fetch(payload) is HttpResponseMessage response)
        {
            _responseHeaders.Capture(activity, response.Headers);
        }
    }
}
