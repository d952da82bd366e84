using System.Globalization;

namespace TraceAgent.Otlp.Receiver;

/// <summary>One span as an OTLP exporter sent it, flattened together with its resource and scope.</summary>
public sealed class ReceivedSpan
{
    public string TraceId { get; init; } = "";

    public string SpanId { get; init; } = "";

    /// <summary>Lower-case hex, or empty for a root span.</summary>
    public string ParentSpanId { get; init; } = "";

    public string TraceState { get; init; } = "";

    /// <summary>W3C trace flags in the low byte; bits 8 and 9 carry the OTLP "has is-remote" and "is-remote" flags.</summary>
    public uint Flags { get; init; }

    public string Name { get; init; } = "";

    /// <summary>OTLP span kind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer.</summary>
    public int Kind { get; init; }

    public ulong StartTimeUnixNano { get; init; }

    public ulong EndTimeUnixNano { get; init; }

    public IReadOnlyDictionary<string, object?> Attributes { get; init; } = EmptyAttributes.Instance;

    public uint DroppedAttributesCount { get; init; }

    public IReadOnlyList<ReceivedSpanEvent> Events { get; init; } = [];

    public uint DroppedEventsCount { get; init; }

    public IReadOnlyList<ReceivedSpanLink> Links { get; init; } = [];

    public uint DroppedLinksCount { get; init; }

    /// <summary>OTLP status code: 0 unset, 1 ok, 2 error.</summary>
    public int StatusCode { get; init; }

    public string StatusMessage { get; init; } = "";

    public IReadOnlyDictionary<string, object?> ResourceAttributes { get; init; } = EmptyAttributes.Instance;

    public string ScopeName { get; init; } = "";

    public string ScopeVersion { get; init; } = "";

    public bool IsRoot => ParentSpanId.Length == 0;

    public TimeSpan Duration => EndTimeUnixNano >= StartTimeUnixNano
        ? TimeSpan.FromTicks((long)((EndTimeUnixNano - StartTimeUnixNano) / 100))
        : TimeSpan.Zero;

    public string ServiceName => ResourceAttributes.TryGetValue("service.name", out object? value) && value is string name
        ? name
        : "";

    public string KindName => SpanKinds.ToName(Kind);

    /// <summary>The attribute's value, or null when absent.</summary>
    public object? Attribute(string key) => Attributes.TryGetValue(key, out object? value) ? value : null;

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Name} [{KindName}] service={ServiceName} trace={TraceId} span={SpanId} parent={(IsRoot ? "-" : ParentSpanId)} status={StatusCode}");
}
