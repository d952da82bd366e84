using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>
/// Spans whose parent never arrived: a service in between sent no spans (not instrumented, or a
/// sampler that disagreed), or spans were dropped on the way. The trace is shown in pieces.
/// </summary>
internal sealed class TraceGapRule : ITraceRule
{
    public const string Id = "trace-gap";

    public IEnumerable<Finding> Analyze(TraceTree trace, AnalysisContext context)
    {
        var byMissingParent = trace.Orphans
            .Where(o => o.Span.ParentSpanId.Length > 0 && trace.Find(o.Span.ParentSpanId) is null)
            .GroupBy(o => o.Span.ParentSpanId, StringComparer.Ordinal);

        foreach (IGrouping<string, SpanNode> group in byMissingParent)
        {
            var spans = group.ToList();
            string names = string.Join(", ", spans.Take(3).Select(s => s.Label)) + (spans.Count > 3 ? ", ..." : "");
            string message = $"parent span {group.Key} never arrived; {names} "
                + (spans.Count == 1 ? "hangs" : "hang") + " loose (a caller sent no spans, or they were dropped)";
            yield return Finding.Create(
                Id,
                FindingSeverity.Warning,
                message,
                spans.Select(s => s.SpanId),
                ("missingParentSpanId", group.Key),
                ("services", string.Join(",", spans.Select(s => s.Service).Distinct(StringComparer.Ordinal))));
        }
    }
}
