namespace TraceAgent.Otlp.Receiver;

public sealed class ReceivedSpanLink
{
    public string TraceId { get; init; } = "";

    public string SpanId { get; init; } = "";

    public string TraceState { get; init; } = "";

    public uint Flags { get; init; }

    public IReadOnlyDictionary<string, object?> Attributes { get; init; } = EmptyAttributes.Instance;

    public uint DroppedAttributesCount { get; init; }

    public override string ToString() => $"{TraceId}/{SpanId}";
}
