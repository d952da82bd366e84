using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using TraceAgent.Propagation;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>Reads the propagators' headers from a consumed message's native headers list.</summary>
internal static unsafe class ConsumerHeaderReader
{
    /// <summary>The propagator's getter over <see cref="ReadPropagationHeaders"/>.</summary>
    public static readonly Func<List<KeyValuePair<string, string>>, string, IEnumerable<string>?> GetHeader = static (headers, name) =>
    {
        // Kafka headers may repeat; like Confluent's Headers.GetLastBytes, the last one wins.
        for (int i = headers.Count - 1; i >= 0; i--)
        {
            if (string.Equals(headers[i].Key, name, StringComparison.Ordinal))
            {
                return [headers[i].Value];
            }
        }

        return null;
    };

#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static List<KeyValuePair<string, string>>? t_headers;
#pragma warning restore IDE1006

    /// <summary>
    /// The common case without strings: W3C trace context (and baggage) configured, and the message's
    /// only propagation header one valid traceparent. It is parsed by the core's traceparent parser on
    /// the header's UTF-8 bytes, with the propagator's rules (the flags it does not define cleared),
    /// so the context read here is the one the propagator would return. Anything else (trace state,
    /// baggage, repeated or invalid headers) returns false and goes through the propagator. A message
    /// without headers (<paramref name="headers"/> 0) returns true with nothing found.
    /// </summary>
    public static bool TryReadTraceParentOnly(KafkaTracing tracing, nint headers, out ActivityContext context, out bool found)
    {
        context = default;
        found = false;
        if (!tracing.OnlyTraceContext)
        {
            return false;
        }

        if (headers == 0)
        {
            return true;
        }

        byte[][] fields = tracing.FieldNames;
        int traceParentIndex = tracing.TraceParentIndex;
        ReadOnlySpan<byte> traceParent = default;
        for (int i = 0; tracing.Native.HeaderGetAll(headers, i, out byte* name, out byte* value, out nuint size) == 0; i++)
        {
            var nameBytes = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name);
            for (int f = 0; f < fields.Length; f++)
            {
                if (nameBytes.SequenceEqual(fields[f].AsSpan(0, fields[f].Length - 1)))
                {
                    if (f != traceParentIndex || found || value == null || size > TraceParent.MaxLength)
                    {
                        return false;
                    }

                    traceParent = new ReadOnlySpan<byte>(value, (int)size);
                    found = true;
                    break;
                }
            }
        }

        if (!found)
        {
            return true;
        }

        if (!TraceParent.TryParseIds(traceParent, out var traceId, out var spanId, out byte flags))
        {
            found = false;
            return false;
        }

        var traceFlags = (ActivityTraceFlags)(flags & TraceParent.KnownFlags);
        context = new ActivityContext(traceId, spanId, traceFlags, traceState: null, isRemote: true);
        return true;
    }

    /// <summary>
    /// Every header with a propagator's name, as strings, in order, for the propagator. The list is
    /// the thread's own: the caller clears it when done.
    /// </summary>
    public static List<KeyValuePair<string, string>> ReadPropagationHeaders(KafkaTracing tracing, nint headers)
    {
        var found = t_headers ??= [];
        if (headers == 0)
        {
            return found;
        }

        byte[][] fields = tracing.FieldNames;
        for (int i = 0; tracing.Native.HeaderGetAll(headers, i, out byte* name, out byte* value, out nuint size) == 0; i++)
        {
            var nameBytes = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name);
            for (int f = 0; f < fields.Length; f++)
            {
                if (nameBytes.SequenceEqual(fields[f].AsSpan(0, fields[f].Length - 1)))
                {
                    string text = value == null ? string.Empty : Encoding.UTF8.GetString(value, (int)size);
                    found.Add(new KeyValuePair<string, string>(tracing.FieldNameStrings[f], text));
                    break;
                }
            }
        }

        return found;
    }
}
