using System.Diagnostics.CodeAnalysis;

namespace TraceAgent.Propagation;

// The "tracecontext" format: traceparent plus tracestate.
internal static class TraceContextPropagation
{
    public static bool TryExtract<TReader>(TReader reader, [NotNullWhen(true)] out string? traceParent, out string? traceState)
        where TReader : struct, IHeaderReader
    {
        traceParent = null;
        traceState = null;

        // Two traceparent fields are invalid (the W3C test suite restarts the trace); a carrier that
        // joins them with ',' fails the format check the same way.
        string? value = HeaderValues.GetFirst(reader, PropagationHeaders.TraceParent, null, out int count);
        if (count != 1 || !TraceParent.TryNormalize(value, out traceParent))
        {
            return false;
        }

        // Only now is tracestate read: the spec says a vendor that failed to parse traceparent MUST
        // NOT parse tracestate, and a tracestate failure MUST NOT affect traceparent.
        string? state = HeaderValues.GetCombined(reader, PropagationHeaders.TraceState, TraceState.MaxLength, out bool truncated);
        if (!truncated && TraceState.TryNormalize(state, out string? normalized))
        {
            traceState = normalized;
        }

        return true;
    }

    public static void Inject<TWriter>(TWriter writer, string traceParent, string? traceState)
        where TWriter : struct, IHeaderWriter
    {
        writer.Write(PropagationHeaders.TraceParent, traceParent);
        if (!string.IsNullOrEmpty(traceState))
        {
            writer.Write(PropagationHeaders.TraceState, traceState);
        }
    }
}
