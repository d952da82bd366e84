namespace TraceAgent.Configuration;

/// <summary>What an encoder keeps of a span, event or link (OTEL_*_LIMIT).</summary>
public sealed record SpanLimits(int AttributeCountLimit, int? AttributeValueLengthLimit, int EventCountLimit, int LinkCountLimit, int EventAttributeCountLimit, int LinkAttributeCountLimit);
