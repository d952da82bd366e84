using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Http;
using TraceAgent.Instrumentation;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.HttpClient;

/// <summary>
/// HttpClient client spans. The runtime's own "System.Net.Http" ActivitySource makes the span and
/// injects the headers through DistributedContextPropagator.Current, which is the agent's
/// propagator: one injection per request. Since .NET 9 the runtime also sets the stable HTTP
/// attributes, and since .NET 10 it records failures; on older runtimes the agent completes the
/// span from the runtime's DiagnosticListener events (ClientSpanTagger).
/// The agent adds URL filters and header capture, redacts credentials, and keeps the runtime's
/// redaction of the query (url.full with "?*") unless query redaction is turned off.
/// </summary>
internal sealed class HttpClientInstrumentation : IInstrumentation
{
    public const string SourceName = "System.Net.Http";

    /// <summary>The assembly whose loading starts the instrumentation (its registry line).</summary>
    public const string TriggerAssembly = "System.Net.Http";

    public IDisposable? Start(InstrumentationContext context)
    {
        var settings = context.GetSettings<HttpClientSettings>();
        var redact = settings.RedactQuery;
        // Under an unsampled parent the runtime makes a span of its own, tagged, if given none.
        context.MakeUnsampled(SourceName);

        // A span held until its trace is decided (keep errors or slow) is redacted only if kept.
        context.SetHooks(SourceName, new SpanHooks
        {
            OnStop = activity =>
            {
                if (activity.Recorded)
                {
                    OnStop(activity, redact);
                }
            },
            OnKept = activity => OnStop(activity, redact),
        });

        var tagger = ClientSpanTagger.RuntimeTagsClientSpans ? null : new ClientSpanTagger(redact);
        var recordFailures = !ClientSpanTagger.RuntimeRecordsFailures;

        // The runtime writes url.full with the query reduced to "?*" unless the process turns its
        // System.Net.Http.DisableUriRedaction switch on, which the agent never does: it would also
        // put query values in the URLs the app's IHttpClientFactory handlers log. A user who asks
        // for query values in spans gets them from the request itself.
        var fullUrl = tagger is null && !redact;
        if (tagger is null && !recordFailures && !fullUrl && settings.ExcludedUrls.Count == 0 && settings.RequestHeaders.Count == 0 && settings.ResponseHeaders.Count == 0)
        {
            return null;
        }

        // Filters, header capture and what older runtimes leave out need the request, the response
        // and the exception, which only the runtime's DiagnosticListener events carry.
        return new HttpClientDiagnosticObserver(settings, tagger, recordFailures, fullUrl).Subscribe();
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
