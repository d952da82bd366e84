namespace TraceAgent.Otlp.Receiver;

public sealed class ReceivedSpanEvent
{
    public string Name { get; init; } = "";

    public ulong TimeUnixNano { get; init; }

    public IReadOnlyDictionary<string, object?> Attributes { get; init; } = EmptyAttributes.Instance;

    public uint DroppedAttributesCount { get; init; }

    public override string ToString() => Name;
}
