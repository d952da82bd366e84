using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Http;

namespace TraceAgent.Instrumentation.HttpClient;

/// <summary>
/// Reads the request and response that the runtime's "HttpHandlerDiagnosticListener" events carry:
/// for URL filters (the span is unsampled before its headers are injected, so nothing downstream
/// is sampled either), for capturing chosen headers, and on runtimes whose HttpClient records less
/// than .NET 10's, to complete its spans (ClientSpanTagger).
/// </summary>
internal sealed class HttpClientDiagnosticObserver
{
    private const string StartEvent = "System.Net.Http.HttpRequestOut.Start";
    private const string StopEvent = "System.Net.Http.HttpRequestOut.Stop";
    private const string ExceptionEvent = "System.Net.Http.Exception";

    private readonly GlobPattern _excluded;
    private readonly HeaderCapture _requestHeaders;
    private readonly HeaderCapture _responseHeaders;
    private readonly ClientSpanTagger? _tagger;
    private readonly bool _recordFailures;
    private readonly bool _fullUrl;
    private readonly PropertyFetcher _request = new("Request");
    private readonly PropertyFetcher _response = new("Response");
    private readonly PropertyFetcher _requestStatus = new("RequestTaskStatus");
    private readonly PropertyFetcher _exception = new("Exception");

    /// <param name="fullUrl">Set url.full from the request (credentials redacted, query kept) over the runtime's, whose query is "?*".</param>
    public HttpClientDiagnosticObserver(HttpClientSettings settings, ClientSpanTagger? tagger, bool recordFailures, bool fullUrl = false)
    {
        _recordFailures = recordFailures;
        _fullUrl = fullUrl;
        _excluded = new GlobPattern(settings.ExcludedUrls);
        _requestHeaders = new HeaderCapture("http.request.header.", settings.RequestHeaders);
        _responseHeaders = new HeaderCapture("http.response.header.", settings.ResponseHeaders);
        _tagger = tagger;
    }

    public IDisposable Subscribe() => DiagnosticListeners.Subscribe(
        "HttpHandlerDiagnosticListener",
        _recordFailures
            ? static name => name is "System.Net.Http.HttpRequestOut" or StartEvent or StopEvent or ExceptionEvent
            : static name => name is "System.Net.Http.HttpRequestOut" or StartEvent or StopEvent,
        OnEvent,
        "HttpClient diagnostic event");

    private void OnEvent(string name, object? payload)
    {
        var activity = Activity.Current;
        if (activity is null || !activity.IsAllDataRequested || activity.Source.Name != HttpClientInstrumentation.SourceName)
        {
            return;
        }

        switch (name)
        {
            case StartEvent when _request.Fetch(payload) is HttpRequestMessage request:
                if (!_excluded.IsEmpty && request.RequestUri is { } uri && _excluded.Matches(uri.GetLeftPart(UriPartial.Path)))
                {
                    activity.IsAllDataRequested = false;
                    activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
                    return;
                }

                _tagger?.OnStart(activity, request);
                if (_fullUrl && request.RequestUri is { IsAbsoluteUri: true } full)
                {
                    activity.SetTag("url.full", UrlRedaction.RedactUrl(full.AbsoluteUri, redactQuery: false));
                }

                _requestHeaders.Capture(activity, request.Headers, request.Content);
                break;
            case StopEvent:
                var response = _response.Fetch(payload) as HttpResponseMessage;
                if (_tagger is not null)
                {
                    ClientSpanTagger.OnResponse(activity, response);
                }

                if (_recordFailures && response is null && _requestStatus.Fetch(payload) is TaskStatus.Canceled)
                {
                    ClientSpanTagger.OnCancelled(activity);
                }

                if (response is not null)
                {
                    _responseHeaders.Capture(activity, response.Headers, response.Content);
                }

                break;
            case ExceptionEvent when _recordFailures && _exception.Fetch(payload) is Exception exception:
                ClientSpanTagger.OnException(activity, exception);
                break;
        }
    }
}
