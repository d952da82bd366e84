using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace TraceAgent.Propagation;

// B3, https://github.com/openzipkin/b3-propagation. Extraction yields a version-00 W3C traceparent
// because that is what ActivityContext.TryParse (and so ASP.NET Core's hosting) understands.
internal static class B3Propagation
{
    // The longest single header is 68 characters (32 + 16 + 1 + 16 plus three dashes).
    private const int MaxSingleLength = 512;
    private const int MaxMultiValueLength = 64;

    // Per the B3 specification and the OpenTelemetry B3 propagator requirements, extraction tries
    // the single header first (it "takes precedence") and falls back to the multi-header encoding,
    // whichever of the two is configured for injection.
    public static bool TryExtract<TReader>(TReader reader, [NotNullWhen(true)] out string? traceParent)
        where TReader : struct, IHeaderReader
    {
        string? single = HeaderValues.GetFirst(reader, PropagationHeaders.B3Single, null, out _);
        if (single is not null && TryParseSingle(single, out traceParent))
        {
            return true;
        }

        // "When extracting state headers, the first value wins."
        string? traceId = HeaderValues.GetFirst(reader, PropagationHeaders.B3TraceId, PropagationHeaders.B3TraceIdLower, out _);
        if (traceId is null)
        {
            traceParent = null;
            return false;
        }

        string? spanId = HeaderValues.GetFirst(reader, PropagationHeaders.B3SpanId, PropagationHeaders.B3SpanIdLower, out _);
        string? sampled = HeaderValues.GetFirst(reader, PropagationHeaders.B3Sampled, PropagationHeaders.B3SampledLower, out _);
        string? flags = HeaderValues.GetFirst(reader, PropagationHeaders.B3Flags, PropagationHeaders.B3FlagsLower, out _);
        return TryParseMulti(traceId, spanId, sampled, flags, out traceParent);
    }

    // b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]. A header with only a sampling
    // state ("0", "1", "d") is valid B3 but carries no identifiers, and an ActivityContext cannot
    // be built without them, so it yields no context. A missing sampling state (defer) maps to
    // "not sampled", the only other value a traceparent can express.
    public static bool TryParseSingle(ReadOnlySpan<char> value, [NotNullWhen(true)] out string? traceParent)
    {
        traceParent = null;
        if (value.Length > MaxSingleLength)
        {
            return false;
        }

        value = Whitespace.TrimOws(value);
        int dash = value.IndexOf('-');
        if (dash < 0)
        {
            return false;
        }

        ReadOnlySpan<char> traceId = value[..dash];
        ReadOnlySpan<char> rest = value[(dash + 1)..];
        dash = rest.IndexOf('-');
        ReadOnlySpan<char> spanId = dash < 0 ? rest : rest[..dash];
        bool sampled = false;
        if (dash >= 0)
        {
            rest = rest[(dash + 1)..];
            dash = rest.IndexOf('-');
            ReadOnlySpan<char> state = dash < 0 ? rest : rest[..dash];
            if (state.Length != 1 || (state[0] != '0' && state[0] != '1' && state[0] != 'd'))
            {
                return false;
            }

            sampled = state[0] != '0';
            if (dash >= 0)
            {
                // The parent span id is not used, but a malformed one means a malformed header.
                ReadOnlySpan<char> parentSpanId = rest[(dash + 1)..];
                if (parentSpanId.Length != 16 || !LowerHex.IsHex(parentSpanId))
                {
                    return false;
                }
            }
        }

        return TryBuild(traceId, spanId, sampled, out traceParent);
    }

    // X-B3-Sampled is 1 or 0; "true"/"false" come from tracers older than the specification, which
    // says a lenient implementation may accept them. X-B3-Flags: 1 is debug, which implies accept.
    // Any other or missing sampling value is "defer", that is not sampled.
    public static bool TryParseMulti(string? traceId, string? spanId, string? sampled, string? flags, [NotNullWhen(true)] out string? traceParent)
    {
        traceParent = null;
        if (traceId is null || spanId is null || traceId.Length > MaxMultiValueLength || spanId.Length > MaxMultiValueLength)
        {
            return false;
        }

        bool isSampled = false;
        if (sampled is not null && sampled.Length <= MaxMultiValueLength)
        {
            ReadOnlySpan<char> s = Whitespace.TrimOws(sampled);
            isSampled = s.SequenceEqual("1") || s.Equals("true", StringComparison.OrdinalIgnoreCase);
        }

        if (flags is not null && flags.Length <= MaxMultiValueLength && Whitespace.TrimOws(flags).SequenceEqual("1"))
        {
            isSampled = true;
        }

        return TryBuild(Whitespace.TrimOws(traceId), Whitespace.TrimOws(spanId), isSampled, out traceParent);
    }

    public static string FormatSingle(ActivityTraceId traceId, ActivitySpanId spanId, bool sampled)
    {
        // {32 hex}-{16 hex}-{1|0}
        Span<char> buffer = stackalloc char[51];
        traceId.ToHexString().AsSpan().CopyTo(buffer);
        buffer[32] = '-';
        spanId.ToHexString().AsSpan().CopyTo(buffer[33..]);
        buffer[49] = '-';
        buffer[50] = sampled ? '1' : '0';
        return new string(buffer);
    }

    public static void InjectSingle<TWriter>(TWriter writer, ActivityTraceId traceId, ActivitySpanId spanId, bool sampled)
        where TWriter : struct, IHeaderWriter =>
        writer.Write(PropagationHeaders.B3Single, FormatSingle(traceId, spanId, sampled));

    // The hex strings are cached inside the ids, so the multi-header form allocates nothing.
    public static void InjectMulti<TWriter>(TWriter writer, ActivityTraceId traceId, ActivitySpanId spanId, bool sampled)
        where TWriter : struct, IHeaderWriter
    {
        writer.Write(PropagationHeaders.B3TraceId, traceId.ToHexString());
        writer.Write(PropagationHeaders.B3SpanId, spanId.ToHexString());
        writer.Write(PropagationHeaders.B3Sampled, sampled ? "1" : "0");
    }

    // A 64-bit B3 trace id is left-padded with zeros to the 128 bits W3C requires; an all-zero id
    // is invalid in both formats.
    private static bool TryBuild(ReadOnlySpan<char> traceId, ReadOnlySpan<char> spanId, bool sampled, [NotNullWhen(true)] out string? traceParent)
    {
        traceParent = null;
        if ((traceId.Length != 32 && traceId.Length != 16) || !LowerHex.IsValidId(traceId))
        {
            return false;
        }

        if (spanId.Length != 16 || !LowerHex.IsValidId(spanId))
        {
            return false;
        }

        Span<char> fullTraceId = stackalloc char[32];
        fullTraceId.Fill('0');
        traceId.CopyTo(fullTraceId[(32 - traceId.Length)..]);
        traceParent = TraceParent.Format(fullTraceId, spanId, sampled);
        return true;
    }
}
