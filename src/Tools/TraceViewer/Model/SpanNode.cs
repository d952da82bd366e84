using TraceAgent.Otlp.Receiver;

namespace TraceAgent.Viewer.Model;

/// <summary>One span placed in its trace's tree, with the log records emitted inside it.</summary>
internal sealed class SpanNode
{
    private readonly List<SpanNode> _children = [];
    private readonly List<ReceivedLogRecord> _logs = [];

    public SpanNode(ReceivedSpan span)
    {
        Span = span;
    }

    public ReceivedSpan Span { get; }

    public SpanNode? Parent { get; private set; }

    public IReadOnlyList<SpanNode> Children => _children;

    public IReadOnlyList<ReceivedLogRecord> Logs => _logs;

    public string SpanId => Span.SpanId;

    public string Service => Span.ServiceName.Length > 0 ? Span.ServiceName : "unknown_service";

    public bool IsError => Span.StatusCode == 2;

    public long Start => (long)Span.StartTimeUnixNano;

    // An end before the start (a broken clock or exporter) is read as a zero-length span.
    public long End => Math.Max(Start, (long)Span.EndTimeUnixNano);

    public long DurationNanos => End - Start;

    /// <summary>The latest end in this span's subtree: later than <see cref="End"/> when an async child outlives it.</summary>
    public long SubtreeEnd { get; private set; }

    public int Depth { get; private set; }

    public string Label => Service + " " + Span.Name;

    public string? Text(string key) => Span.Attribute(key) switch
    {
        null => null,
        string text => text,
        IFormattable formattable => formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        object other => other.ToString(),
    };

    public bool Has(string key) => Span.Attributes.ContainsKey(key);

    internal void AddChild(SpanNode child)
    {
        child.Parent = this;
        _children.Add(child);
    }

    internal void DetachFromParent()
    {
        Parent?._children.Remove(this);
        Parent = null;
    }

    internal void AddLog(ReceivedLogRecord log) => _logs.Add(log);

    internal void SortChildren()
    {
        _children.Sort(ByStart);
        _logs.Sort((a, b) => a.TimeUnixNano.CompareTo(b.TimeUnixNano));
    }

    internal long ComputeSubtree(int depth)
    {
        Depth = depth;
        long end = End;
        foreach (SpanNode child in _children)
        {
            end = Math.Max(end, child.ComputeSubtree(depth + 1));
        }

        SubtreeEnd = end;
        return end;
    }

    internal static int ByStart(SpanNode a, SpanNode b)
    {
        int byStart = a.Start.CompareTo(b.Start);
        return byStart != 0 ? byStart : string.CompareOrdinal(a.SpanId, b.SpanId);
    }

    public override string ToString() => Label;
}
