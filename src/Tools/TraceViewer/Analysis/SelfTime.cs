using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

internal static class SelfTime
{
    /// <summary>A span's duration minus the time at least one of its children ran inside it.</summary>
    public static long Of(SpanNode span)
    {
        var intervals = span.Children
            .Select(c => (Start: Math.Max(c.Start, span.Start), End: Math.Min(c.End, span.End)))
            .Where(i => i.End > i.Start)
            .OrderBy(i => i.Start)
            .ToList();

        long covered = 0;
        long currentStart = 0;
        long currentEnd = long.MinValue;
        foreach ((long start, long end) in intervals)
        {
            if (start > currentEnd)
            {
                if (currentEnd > currentStart)
                {
                    covered += currentEnd - currentStart;
                }

                currentStart = start;
                currentEnd = end;
            }
            else
            {
                currentEnd = Math.Max(currentEnd, end);
            }
        }

        if (currentEnd > currentStart)
        {
            covered += currentEnd - currentStart;
        }

        return span.DurationNanos - covered;
    }
}
