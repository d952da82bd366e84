using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>
/// The spans that spent the most time in their own work (self time: duration minus the time its
/// children ran), which is where a fix pays; a slow parent that only waits for slow children is
/// not named, its children are.
/// </summary>
internal sealed class SlowestSpansRule : ITraceRule
{
    public const string Id = "slowest-span";

    public IEnumerable<Finding> Analyze(TraceTree trace, AnalysisContext context)
    {
        if (trace.Spans.Count < 2)
        {
            yield break;
        }

        HashSet<SpanNode> onPath = [.. CriticalPath.Compute(trace).Spans];
        var slowest = trace.Spans
            .Select(span => (Span: span, Self: SelfTime.Of(span)))
            .Where(s => s.Self > 0)
            .OrderByDescending(s => s.Self)
            .ThenBy(s => s.Span.Start)
            .Take(context.SlowestCount);

        int rank = 0;
        foreach ((SpanNode span, long self) in slowest)
        {
            rank++;
            bool critical = onPath.Contains(span);
            string message = $"#{Format.Count(rank)} {span.Label}: {Format.Duration(self)} self time of {Format.Duration(span.DurationNanos)}"
                + (critical ? ", on the critical path" : "");
            yield return Finding.Create(
                Id,
                FindingSeverity.Info,
                message,
                [span.SpanId],
                ("rank", Format.Count(rank)),
                ("selfMs", Format.Millis(self)),
                ("durationMs", Format.Millis(span.DurationNanos)),
                ("onCriticalPath", critical ? "true" : "false"));
        }
    }
}
