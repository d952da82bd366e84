namespace TraceAgent.Propagation;

internal static class PropagationHeaders
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";
    public const string Baggage = "baggage";
    public const string B3Single = "b3";

    // B3 multi-header names as the B3 specification spells them; the lower-case twins are for
    // case-sensitive carriers (Kafka headers, gRPC metadata) where senders usually write lower case.
    public const string B3TraceId = "X-B3-TraceId";
    public const string B3SpanId = "X-B3-SpanId";
    public const string B3ParentSpanId = "X-B3-ParentSpanId";
    public const string B3Sampled = "X-B3-Sampled";
    public const string B3Flags = "X-B3-Flags";

    public const string B3TraceIdLower = "x-b3-traceid";
    public const string B3SpanIdLower = "x-b3-spanid";
    public const string B3SampledLower = "x-b3-sampled";
    public const string B3FlagsLower = "x-b3-flags";
}
