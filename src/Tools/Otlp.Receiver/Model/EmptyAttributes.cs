using System.Collections.ObjectModel;

namespace TraceAgent.Otlp.Receiver;

internal static class EmptyAttributes
{
    public static readonly IReadOnlyDictionary<string, object?> Instance =
        ReadOnlyDictionary<string, object?>.Empty;
}
