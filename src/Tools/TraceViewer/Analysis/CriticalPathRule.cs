using System.Text;
using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>
/// Names the chain of spans that decides the trace's duration and the spans that weigh most on
/// it: making anything off this path faster does not make the trace faster.
/// </summary>
internal sealed class CriticalPathRule : ITraceRule
{
    public const string Id = "critical-path";

    private const int MaxHeaviest = 3;

    public IEnumerable<Finding> Analyze(TraceTree trace, AnalysisContext context)
    {
        CriticalPath path = CriticalPath.Compute(trace);
        if (path.Spans.Count == 0)
        {
            yield break;
        }

        var heaviest = path.Spans
            .Select(span => (Span: span, Nanos: path.ContributionOf(span)))
            .Where(s => s.Nanos > 0)
            .OrderByDescending(s => s.Nanos)
            .Take(MaxHeaviest)
            .ToList();

        var message = new StringBuilder();
        message.Append(Format.Duration(path.TotalNanos)).Append(" through ").Append(Format.Count(path.Spans.Count)).Append(" span(s)");
        if (heaviest.Count > 0)
        {
            message.Append("; most of it in ");
            message.AppendJoin(", ", heaviest.Select(h => $"{h.Span.Label} {Format.Duration(h.Nanos)} ({Format.Percent(h.Nanos, path.TotalNanos)})"));
        }

        if (path.WaitingNanos > 0)
        {
            message.Append("; waiting between spans (queues, untraced hops) ").Append(Format.Duration(path.WaitingNanos));
        }

        yield return Finding.Create(
            Id,
            FindingSeverity.Info,
            message.ToString(),
            path.Spans.Select(s => s.SpanId),
            ("durationMs", Format.Millis(path.TotalNanos)),
            ("waitingMs", Format.Millis(path.WaitingNanos)),
            ("path", string.Join(" -> ", path.Spans.Select(s => s.Label))),
            ("heaviestSpanId", heaviest.Count > 0 ? heaviest[0].Span.SpanId : null));
    }
}
