namespace TraceAgent.Otlp.Receiver;

/// <summary>One log record as an OTLP exporter sent it, flattened together with its resource and scope.</summary>
public sealed class ReceivedLogRecord
{
    public ulong TimeUnixNano { get; init; }

    public ulong ObservedTimeUnixNano { get; init; }

    /// <summary>OTLP severity number: 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error, 21-24 fatal.</summary>
    public int SeverityNumber { get; init; }

    public string SeverityText { get; init; } = "";

    /// <summary>The body as an attribute value: string, long, double, bool, byte[], object?[] or a dictionary.</summary>
    public object? Body { get; init; }

    public IReadOnlyDictionary<string, object?> Attributes { get; init; } = EmptyAttributes.Instance;

    public uint DroppedAttributesCount { get; init; }

    /// <summary>Lower-case hex, or empty when the record was not written inside a span.</summary>
    public string TraceId { get; init; } = "";

    public string SpanId { get; init; } = "";

    public uint Flags { get; init; }

    public string EventName { get; init; } = "";

    public IReadOnlyDictionary<string, object?> ResourceAttributes { get; init; } = EmptyAttributes.Instance;

    public string ScopeName { get; init; } = "";

    public string ScopeVersion { get; init; } = "";

    public string ServiceName => ResourceAttributes.TryGetValue("service.name", out object? value) && value is string name
        ? name
        : "";

    public override string ToString() => $"[{SeverityText}/{SeverityNumber}] {Body} trace={TraceId} span={SpanId}";
}
