using System.Diagnostics;
using TraceAgent.Http;
using TraceAgent.Instrumentation;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.HttpClient;

/// <summary>
/// HttpClient client spans. Since .NET 9 the runtime's own "System.Net.Http" ActivitySource makes
/// the span with the stable HTTP attributes and injects the headers through
/// DistributedContextPropagator.Current, which is the agent's propagator: one injection per request.
/// The agent adds query redaction that keeps the keys, URL filters and header capture.
/// </summary>
internal sealed class HttpClientInstrumentation : IInstrumentation
{
    public const string SourceName = "System.Net.Http";

    public IDisposable? Start(InstrumentationContext context)
    {
        var settings = context.Settings.Http;
        var redact = settings.RedactClientQuery;
        context.SetHooks(SourceName, new SpanHooks
        {
            OnStop = activity => OnStop(activity, redact),
        });

        if (settings.ExcludedClientUrls.Count == 0 && settings.ClientRequestHeaders.Count == 0 && settings.ClientResponseHeaders.Count == 0)
        {
            return null;
        }

        // Filters and header capture need the HttpRequestMessage, which only the runtime's
        // DiagnosticListener events carry.
        return new HttpClientDiagnosticObserver(settings).Subscribe();
    }

    private static void OnStop(Activity activity, bool redact)
    {
        if (activity.GetTagItem("url.full") is string url)
        {
            var redacted = UrlRedaction.RedactUrl(url, redact);
            if (!ReferenceEquals(redacted, url))
            {
                activity.SetTag("url.full", redacted);
            }
        }
    }
}
