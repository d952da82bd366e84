using System.Diagnostics;
using System.Linq.Expressions;
using System.Reflection;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Http;

namespace TraceAgent.Instrumentation.HttpClient;

/// <summary>
/// Reads the request and response that the runtime's "HttpHandlerDiagnosticListener" events carry:
/// for URL filters (the span is unsampled before its headers are injected, so nothing downstream
/// is sampled either) and for capturing chosen headers.
/// </summary>
internal sealed class HttpClientDiagnosticObserver : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    private const string ListenerName = "HttpHandlerDiagnosticListener";
    private const string StartEvent = "System.Net.Http.HttpRequestOut.Start";
    private const string StopEvent = "System.Net.Http.HttpRequestOut.Stop";

    private readonly GlobPattern _excluded;
    private readonly HeaderCapture _requestHeaders;
    private readonly HeaderCapture _responseHeaders;
    private readonly List<IDisposable> _subscriptions = [];
    private Func<object, object?>? _getRequest;
    private Func<object, object?>? _getResponse;

    public HttpClientDiagnosticObserver(HttpSettings settings)
    {
        _excluded = new GlobPattern(settings.ExcludedClientUrls);
        _requestHeaders = new HeaderCapture("http.request.header.", settings.ClientRequestHeaders);
        _responseHeaders = new HeaderCapture("http.response.header.", settings.ClientResponseHeaders);
    }

    public IDisposable Subscribe()
    {
        _subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(this));
        return new Unsubscriber(_subscriptions);
    }

    public void OnNext(DiagnosticListener value)
    {
        if (value.Name == ListenerName)
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(value.Subscribe(this, static (name, _, _) => name is "System.Net.Http.HttpRequestOut" or StartEvent or StopEvent));
            }
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        try
        {
            var activity = Activity.Current;
            if (activity is null || value.Value is null || !activity.Recorded)
            {
                return;
            }

            if (value.Key == StartEvent)
            {
                _getRequest ??= Getter(value.Value.GetType(), "Request");
                if (_getRequest(value.Value) is HttpRequestMessage request)
                {
                    if (!_excluded.IsEmpty && request.RequestUri is { } uri && _excluded.Matches(uri.GetLeftPart(UriPartial.Path)))
                    {
                        activity.IsAllDataRequested = false;
                        activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
                        return;
                    }

                    _requestHeaders.Capture(activity, request.Headers);
                }
            }
            else if (value.Key == StopEvent)
            {
                _getResponse ??= Getter(value.Value.GetType(), "Response");
                if (_getResponse(value.Value) is HttpResponseMessage response)
                {
                    _responseHeaders.Capture(activity, response.Headers);
                }
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("HttpClient diagnostic event", ex);
        }
    }

    private static Func<object, object?> Getter(Type type, string property)
    {
        // The payload types are internal to System.Net.Http: compile one typed getter per type.
        var info = type.GetProperty(property, BindingFlags.Public | BindingFlags.Instance);
        if (info is null)
        {
            return static _ => null;
        }

        var parameter = Expression.Parameter(typeof(object));
        var body = Expression.Convert(Expression.Property(Expression.Convert(parameter, type), info), typeof(object));
        return Expression.Lambda<Func<object, object?>>(body, parameter).Compile();
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    private sealed class Unsubscriber(List<IDisposable> subscriptions) : IDisposable
    {
        public void Dispose()
        {
            lock (subscriptions)
            {
                foreach (var subscription in subscriptions)
                {
                    subscription.Dispose();
                }

                subscriptions.Clear();
            }
        }
    }
}
