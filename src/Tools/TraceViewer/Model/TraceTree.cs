using TraceAgent.Otlp.Receiver;

namespace TraceAgent.Viewer.Model;

/// <summary>
/// The spans of one trace arranged by parent id. Spans whose parent never arrived become extra
/// top-level nodes (<see cref="Orphans"/>) rather than being dropped, so a trace with a gap is
/// still shown whole.
/// </summary>
internal sealed class TraceTree
{
    private TraceTree(
        string traceId,
        IReadOnlyList<SpanNode> spans,
        IReadOnlyList<SpanNode> roots,
        IReadOnlyList<SpanNode> orphans,
        IReadOnlyList<ReceivedLogRecord> logs)
    {
        TraceId = traceId;
        Spans = spans;
        Roots = roots;
        Orphans = orphans;
        Logs = logs;
        TopLevel = [.. roots.Concat(orphans).OrderBy(n => n, Comparer<SpanNode>.Create(SpanNode.ByStart))];
        Start = spans.Count == 0 ? 0 : spans.Min(s => s.Start);
        End = spans.Count == 0 ? 0 : spans.Max(s => s.End);
    }

    public string TraceId { get; }

    /// <summary>Every span, ordered by start time.</summary>
    public IReadOnlyList<SpanNode> Spans { get; }

    /// <summary>Spans with no parent id.</summary>
    public IReadOnlyList<SpanNode> Roots { get; }

    /// <summary>Spans whose parent id names a span this trace does not hold.</summary>
    public IReadOnlyList<SpanNode> Orphans { get; }

    /// <summary>Roots and orphans, ordered by start time: where printing and path-finding begin.</summary>
    public IReadOnlyList<SpanNode> TopLevel { get; }

    /// <summary>Every log record of the trace, whether or not its span arrived.</summary>
    public IReadOnlyList<ReceivedLogRecord> Logs { get; }

    public long Start { get; }

    public long End { get; }

    public long DurationNanos => End - Start;

    public IReadOnlyList<string> Services => [.. Spans.Select(s => s.Service).Distinct(StringComparer.Ordinal)];

    /// <summary>The span the trace is named after: the earliest root, else the earliest top-level span.</summary>
    public SpanNode? Main => Roots.Count > 0 ? Roots.MinBy(r => r.Start) : (TopLevel.Count > 0 ? TopLevel[0] : null);

    public SpanNode? Find(string spanId) => Spans.FirstOrDefault(s => s.SpanId == spanId);

    public static TraceTree Build(string traceId, IEnumerable<ReceivedSpan> spans, IEnumerable<ReceivedLogRecord>? logs = null)
    {
        // The first copy of a span id wins: an exporter retry can deliver the same span twice.
        var byId = new Dictionary<string, SpanNode>(StringComparer.Ordinal);
        var ordered = new List<SpanNode>();
        foreach (ReceivedSpan span in spans)
        {
            if (span.SpanId.Length > 0 && byId.TryAdd(span.SpanId, new SpanNode(span)))
            {
                ordered.Add(byId[span.SpanId]);
            }
        }

        var roots = new List<SpanNode>();
        var orphans = new List<SpanNode>();
        foreach (SpanNode node in ordered)
        {
            string parentId = node.Span.ParentSpanId;
            if (parentId.Length == 0)
            {
                roots.Add(node);
            }
            else if (parentId != node.SpanId && byId.TryGetValue(parentId, out SpanNode? parent))
            {
                parent.AddChild(node);
            }
            else
            {
                orphans.Add(node);
            }
        }

        // Malformed data can make a parent cycle, which no top-level span reaches: break it at
        // its earliest span so every span is still shown once.
        var reached = new HashSet<SpanNode>();
        foreach (SpanNode top in roots.Concat(orphans))
        {
            Mark(top, reached);
        }

        foreach (SpanNode node in ordered.OrderBy(n => n, Comparer<SpanNode>.Create(SpanNode.ByStart)))
        {
            if (!reached.Contains(node))
            {
                node.DetachFromParent();
                orphans.Add(node);
                Mark(node, reached);
            }
        }

        var logList = logs?.ToList() ?? [];
        foreach (ReceivedLogRecord log in logList)
        {
            if (log.SpanId.Length > 0 && byId.TryGetValue(log.SpanId, out SpanNode? owner))
            {
                owner.AddLog(log);
            }
        }

        foreach (SpanNode node in ordered)
        {
            node.SortChildren();
        }

        foreach (SpanNode top in roots.Concat(orphans))
        {
            top.ComputeSubtree(0);
        }

        ordered.Sort(SpanNode.ByStart);
        roots.Sort(SpanNode.ByStart);
        orphans.Sort(SpanNode.ByStart);
        return new TraceTree(traceId, ordered, roots, orphans, logList);
    }

    private static void Mark(SpanNode node, HashSet<SpanNode> reached)
    {
        // Iterative: a pathological trace can be deeper than the stack.
        var stack = new Stack<SpanNode>();
        stack.Push(node);
        while (stack.Count > 0)
        {
            SpanNode current = stack.Pop();
            if (!reached.Add(current))
            {
                continue;
            }

            foreach (SpanNode child in current.Children)
            {
                stack.Push(child);
            }
        }
    }
}
