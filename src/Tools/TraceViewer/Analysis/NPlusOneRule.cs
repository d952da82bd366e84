using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>
/// The same outgoing operation repeated at least N times under one parent: rows read one at a
/// time, where one query for all of them would do. Database calls are first grouped by query
/// text (a parameterised query repeats verbatim), then what is left by query summary (texts
/// that differ only in inlined values); other calls by name and route or destination.
/// </summary>
internal sealed class NPlusOneRule : ITraceRule
{
    public const string Id = "n-plus-one";

    private static readonly Func<SpanNode, string?>[] Keys = [QueryTextKey, Operation.Key];

    public IEnumerable<Finding> Analyze(TraceTree trace, AnalysisContext context)
    {
        foreach (SpanNode parent in trace.Spans)
        {
            var candidates = parent.Children.Where(Operation.IsOutgoing).ToList();
            if (candidates.Count < context.NPlusOneThreshold)
            {
                continue;
            }

            var reported = new HashSet<SpanNode>();
            foreach (Func<SpanNode, string?> key in Keys)
            {
                var repeated = candidates
                    .Where(c => !reported.Contains(c))
                    .Select(c => (Span: c, Key: key(c)))
                    .Where(c => c.Key is not null)
                    .GroupBy(c => c.Key!, c => c.Span, StringComparer.Ordinal)
                    .Where(g => g.Count() >= context.NPlusOneThreshold)
                    .OrderByDescending(g => g.Count())
                    .ToList();

                foreach (IGrouping<string, SpanNode> group in repeated)
                {
                    reported.UnionWith(group);
                    yield return Report(parent, group);
                }
            }
        }
    }

    private static Finding Report(SpanNode parent, IGrouping<string, SpanNode> group)
    {
        SpanNode first = group.First();
        long total = group.Sum(s => s.DurationNanos);
        string operation = Operation.Describe(first);
        string? text = first.Text("db.query.text");
        string? system = first.Text("db.system.name") ?? first.Text("db.system") ?? first.Text("messaging.system");
        string example = text is not null && text != operation ? $"; the query: {OneLine(text, 140)}" : "";
        string message = $"{operation} ran {Format.Count(group.Count())} times under {parent.Label} "
            + $"({Format.Duration(total)} in total{(system is null ? "" : ", " + system)}), one call per item{example}";
        return Finding.Create(
            Id,
            FindingSeverity.Warning,
            message,
            [parent.SpanId, .. group.Select(s => s.SpanId)],
            ("operation", operation),
            ("key", group.Key),
            ("count", Format.Count(group.Count())),
            ("totalMs", Format.Millis(total)),
            ("parentSpanId", parent.SpanId),
            ("queryText", text),
            ("system", system));
    }

    private static string? QueryTextKey(SpanNode span) =>
        Operation.IsDatabase(span) && (span.Text("db.query.text") ?? span.Text("db.statement")) is string text
            ? (span.Text("db.system.name") ?? span.Text("db.system")) + ": " + text
            : null;

    private static string OneLine(string text, int max)
    {
        string line = string.Join(' ', text.Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
        return line.Length <= max ? line : string.Concat(line.AsSpan(0, max - 1), "…");
    }
}
