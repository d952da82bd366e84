using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>A stretch of the critical path: time spent in <see cref="Span"/> itself, or, when
/// <see cref="Span"/> is null, waiting between spans (a message in a queue, an untraced hop).</summary>
internal readonly record struct PathSegment(SpanNode? Span, long Start, long End)
{
    public long Nanos => End - Start;
}

/// <summary>
/// The chain of work that decides when a trace ends. Walking back from the trace's last moment,
/// each span hands the path to the child whose subtree finished last before the current point,
/// then continues from that child's start: sequential children all land on the path, parallel
/// ones only where they were the last to finish. A child's subtree may end after the child
/// itself and after its parent (a Kafka consumer of a message the parent produced), so the walk
/// uses subtree ends, and the time between a span's own end and its async descendant's start
/// counts as waiting rather than as the span's work.
/// </summary>
internal sealed class CriticalPath
{
    private CriticalPath(IReadOnlyList<PathSegment> segments)
    {
        Segments = segments;
        Spans = [.. segments.Where(s => s.Span is not null).Select(s => s.Span!).Distinct()];
        TotalNanos = segments.Count == 0 ? 0 : segments[^1].End - segments[0].Start;
        WaitingNanos = segments.Where(s => s.Span is null).Sum(s => s.Nanos);
    }

    /// <summary>In time order; together they cover the trace from its first start to its last end.</summary>
    public IReadOnlyList<PathSegment> Segments { get; }

    /// <summary>The spans on the path, in the order the path first reaches them.</summary>
    public IReadOnlyList<SpanNode> Spans { get; }

    public long TotalNanos { get; }

    public long WaitingNanos { get; }

    /// <summary>How much of the path each span's own work accounts for.</summary>
    public long ContributionOf(SpanNode span) => Segments.Where(s => s.Span == span).Sum(s => s.Nanos);

    public static CriticalPath Compute(TraceTree trace)
    {
        var reversed = new List<PathSegment>();
        if (trace.TopLevel.Count > 0)
        {
            // The top-level spans (roots and orphans) behave as children of one virtual span
            // covering the trace; time none of them covers is waiting.
            long end = trace.TopLevel.Max(t => t.SubtreeEnd);
            long start = trace.TopLevel.Min(t => t.Start);
            WalkChildren(null, trace.TopLevel, start, end, reversed);
        }

        reversed.Reverse();
        return new CriticalPath(Merge(reversed));
    }

    private static void Walk(SpanNode span, long windowEnd, List<PathSegment> reversed)
    {
        // Iteration depth follows the tree depth; traces deep enough to matter here do not occur
        // in practice, and the tree builder has already broken any parent cycles.
        WalkChildren(span, span.Children, span.Start, windowEnd, reversed);
    }

    private static void WalkChildren(SpanNode? owner, IReadOnlyList<SpanNode> children, long start, long windowEnd, List<PathSegment> reversed)
    {
        long cursor = windowEnd;
        var remaining = new List<SpanNode>(children);
        while (cursor > start)
        {
            SpanNode? best = null;
            long bestEnd = long.MinValue;
            foreach (SpanNode child in remaining)
            {
                if (child.Start >= cursor)
                {
                    continue;
                }

                long end = Math.Min(child.SubtreeEnd, cursor);
                if (best is null || end > bestEnd || (end == bestEnd && child.Start < best.Start))
                {
                    best = child;
                    bestEnd = end;
                }
            }

            if (best is null)
            {
                break;
            }

            remaining.Remove(best);
            AddOwnTime(owner, bestEnd, cursor, reversed);
            Walk(best, bestEnd, reversed);
            cursor = Math.Max(best.Start, start);
        }

        AddOwnTime(owner, start, cursor, reversed);
    }

    /// <summary>Time in [from, to) not covered by a child: the owner's own work while it runs, waiting after it ended.</summary>
    private static void AddOwnTime(SpanNode? owner, long from, long to, List<PathSegment> reversed)
    {
        if (to <= from)
        {
            return;
        }

        long ownEnd = owner is null ? from : Math.Clamp(owner.End, from, to);
        if (to > ownEnd)
        {
            reversed.Add(new PathSegment(null, ownEnd, to));
        }

        if (ownEnd > from)
        {
            reversed.Add(new PathSegment(owner, from, ownEnd));
        }
    }

    private static List<PathSegment> Merge(List<PathSegment> segments)
    {
        var merged = new List<PathSegment>(segments.Count);
        foreach (PathSegment segment in segments)
        {
            if (merged.Count > 0 && merged[^1].Span == segment.Span && merged[^1].End == segment.Start)
            {
                merged[^1] = merged[^1] with { End = segment.End };
            }
            else
            {
                merged.Add(segment);
            }
        }

        return merged;
    }
}
