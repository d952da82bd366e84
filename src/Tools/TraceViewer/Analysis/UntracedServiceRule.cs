using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>
/// Calls into services that sent no spans: a CLIENT span with no SERVER (or any remote) child, or
/// a PRODUCER span that no CONSUMER span continues or links to. Databases and caches are not
/// expected to send spans, so client spans of a database system are left out.
/// </summary>
internal sealed class UntracedServiceRule : ITraceRule
{
    public const string Id = "untraced-service";

    public IEnumerable<Finding> Analyze(TraceTree trace, AnalysisContext context)
    {
        HashSet<string> linkedInTrace = [.. trace.Spans.SelectMany(s => s.Span.Links).Select(l => l.SpanId)];
        foreach (SpanNode span in trace.Spans)
        {
            if (span.Span.Kind == SpanKinds.Client && !Operation.IsDatabase(span) && !Operation.IsMessaging(span))
            {
                if (span.Children.Any(c => c.Span.Kind == SpanKinds.Server || c.Service != span.Service))
                {
                    continue;
                }

                string target = Operation.Endpoint(span) ?? span.Text("url.full") ?? span.Span.Name;
                string? failure = span.IsError ? ErrorOriginRule.Reason(span) : null;
                string message = $"{span.Label} called {target}, which sent no spans"
                    + (failure is { Length: > 0 } ? $" (the call failed: {failure})" : " (not instrumented, or exporting elsewhere)");
                yield return Finding.Create(
                    Id,
                    FindingSeverity.Warning,
                    message,
                    [span.SpanId],
                    ("target", target),
                    ("kind", "client"));
            }
            else if (span.Span.Kind == SpanKinds.Producer)
            {
                bool consumed = span.Children.Any(c => c.Span.Kind == SpanKinds.Consumer)
                    || linkedInTrace.Contains(span.SpanId)
                    || context.IsLinkedFromElsewhere(span.SpanId);
                if (consumed)
                {
                    continue;
                }

                string destination = span.Text("messaging.destination.name") ?? Operation.Endpoint(span) ?? span.Span.Name;
                string system = span.Text("messaging.system") ?? "messaging";
                string message = $"{span.Label} sent to {system} destination {destination}, and no traced consumer has picked it up";
                yield return Finding.Create(
                    Id,
                    FindingSeverity.Warning,
                    message,
                    [span.SpanId],
                    ("target", destination),
                    ("kind", "producer"));
            }
        }
    }
}
