namespace TraceAgent.Propagation;

internal enum PropagationFormat
{
    TraceContext,
    Baggage,
    B3Single,
    B3Multi,
}

// The propagator names of OTEL_PROPAGATORS that this agent implements.
internal static class PropagationFormatNames
{
    public const string TraceContext = "tracecontext";
    public const string Baggage = "baggage";
    public const string B3Single = "b3";
    public const string B3Multi = "b3multi";
    public const string None = "none";

    public static bool TryParse(string? name, out PropagationFormat format)
    {
        ReadOnlySpan<char> trimmed = name is null ? default : name.AsSpan().Trim();
        if (trimmed.Equals(TraceContext, StringComparison.OrdinalIgnoreCase))
        {
            format = PropagationFormat.TraceContext;
            return true;
        }

        if (trimmed.Equals(Baggage, StringComparison.OrdinalIgnoreCase))
        {
            format = PropagationFormat.Baggage;
            return true;
        }

        if (trimmed.Equals(B3Single, StringComparison.OrdinalIgnoreCase))
        {
            format = PropagationFormat.B3Single;
            return true;
        }

        if (trimmed.Equals(B3Multi, StringComparison.OrdinalIgnoreCase))
        {
            format = PropagationFormat.B3Multi;
            return true;
        }

        format = default;
        return false;
    }

    public static bool IsNone(string? name) =>
        name is not null && name.AsSpan().Trim().Equals(None, StringComparison.OrdinalIgnoreCase);

    public static bool IsKnown(string? name) => IsNone(name) || TryParse(name, out _);

    public static string ToName(PropagationFormat format) => format switch
    {
        PropagationFormat.TraceContext => TraceContext,
        PropagationFormat.Baggage => Baggage,
        PropagationFormat.B3Single => B3Single,
        _ => B3Multi,
    };
}
