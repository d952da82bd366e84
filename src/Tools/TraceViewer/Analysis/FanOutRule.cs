using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>
/// A span with many direct children: one request turned into many calls, which multiplies
/// latency when they run one after another and load when they run at once.
/// </summary>
internal sealed class FanOutRule : ITraceRule
{
    public const string Id = "fan-out";

    public IEnumerable<Finding> Analyze(TraceTree trace, AnalysisContext context)
    {
        foreach (SpanNode span in trace.Spans)
        {
            if (span.Children.Count < context.FanOutThreshold)
            {
                continue;
            }

            // Children that are mostly one repeated call are an N+1 pattern, which that rule names.
            int largest = span.Children.GroupBy(Operation.Key, StringComparer.Ordinal).Max(g => g.Count());
            if (largest >= context.NPlusOneThreshold && largest * 4 >= span.Children.Count * 3)
            {
                continue;
            }

            var groups = span.Children
                .GroupBy(Operation.Key, StringComparer.Ordinal)
                .OrderByDescending(g => g.Count())
                .Take(3)
                .Select(g => $"{Format.Count(g.Count())} × {g.Key}");
            bool sequential = IsSequential(span.Children);
            string message = $"{span.Label} has {Format.Count(span.Children.Count)} direct children "
                + $"({string.Join(", ", groups)}), run {(sequential ? "one after another" : "partly in parallel")}";
            yield return Finding.Create(
                Id,
                FindingSeverity.Warning,
                message,
                [span.SpanId],
                ("children", Format.Count(span.Children.Count)),
                ("sequential", sequential ? "true" : "false"));
        }
    }

    private static bool IsSequential(IReadOnlyList<SpanNode> children)
    {
        // Children are sorted by start; overlapping neighbours mean some ran concurrently.
        for (int i = 1; i < children.Count; i++)
        {
            if (children[i].Start < children[i - 1].End)
            {
                return false;
            }
        }

        return true;
    }
}
