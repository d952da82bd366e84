using System.Diagnostics;
using System.Text;
using TraceAgent.Propagation;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// The propagator's setter target: the message's native headers list. A header the propagator
/// writes replaces every header of that name the app set (rd_kafka_header_remove); the app's other
/// headers are left as they are. One instance per thread, set up for each produced message.
/// </summary>
internal sealed unsafe class ProducerHeaderWriter
{
    public static readonly Action<ProducerHeaderWriter, string, string> Set = static (writer, name, value) => writer.Write(name, value);

    // A name outside the propagator's fields (none today) sets every bit: all fields are removed again.
    private const uint UnknownField = uint.MaxValue;

#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static ProducerHeaderWriter? t_instance;
#pragma warning restore IDE1006

    private KafkaTracing? _tracing;
    private nint* _slot;

    /// <summary>The headers list the writer had to create (the message had none), or 0.</summary>
    public nint Created { get; private set; }

    /// <summary>A bit per field written (<see cref="Bit"/> of its index in KafkaTracing.FieldNames).</summary>
    public uint Written { get; private set; }

    public static uint Bit(int fieldIndex) => fieldIndex < 32 ? 1u << fieldIndex : UnknownField;

    public static ProducerHeaderWriter For(KafkaTracing tracing, nint* slot)
    {
        var writer = t_instance ??= new ProducerHeaderWriter();
        writer._tracing = tracing;
        writer._slot = slot;
        writer.Created = 0;
        writer.Written = 0;
        return writer;
    }

    public void Clear()
    {
        _tracing = null;
        _slot = null;
    }

    /// <summary>
    /// With only W3C trace context (and baggage) configured, a span without trace state or baggage
    /// propagates as one traceparent header, exactly as the propagator formats it: written here by
    /// the core's formatter from the span's ids into a stack buffer, with no string made. Anything
    /// else goes through the propagator.
    /// </summary>
    public bool TryWriteTraceParentOnly(Activity source) => TryWriteTraceParentOnly(TraceParentOf(source), source.Baggage);

    /// <summary>The same from a context (a span with no Activity: DirectSpans) and the baggage that goes with it.</summary>
    public bool TryWriteTraceParentOnly(in ActivityContext context, IEnumerable<KeyValuePair<string, string?>> baggage)
    {
        var tracing = _tracing!;
        if (!tracing.OnlyTraceContext || !string.IsNullOrEmpty(context.TraceState))
        {
            return false;
        }

        if (tracing.HasBaggageField && baggage is not ICollection<KeyValuePair<string, string?>> { Count: 0 })
        {
            return false;
        }

        Span<byte> value = stackalloc byte[TraceParent.Version0Length];
        TraceParent.Format(context.TraceId, context.SpanId, (byte)context.TraceFlags, value);
        WriteField(tracing.TraceParentIndex, value);
        return true;
    }

    /// <summary>What the traceparent of <paramref name="source"/> is written from: its ids and tracestate, with the flags the agent sends.</summary>
    public static ActivityContext TraceParentOf(Activity source) =>
        new(source.TraceId, source.SpanId, (ActivityTraceFlags)TraceParent.FlagsOf(source), source.TraceStateString);

    private void Write(string name, string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        Span<byte> valueBytes = length <= 512 ? stackalloc byte[length] : new byte[length];
        Encoding.UTF8.GetBytes(value, valueBytes);
        WriteField(Array.IndexOf(_tracing!.FieldNameStrings, name), valueBytes, name);
    }

    private void WriteField(int fieldIndex, ReadOnlySpan<byte> value, string? name = null)
    {
        var tracing = _tracing!;
        var native = tracing.Native;
        nint headers = *_slot;
        if (headers == 0)
        {
            headers = native.HeadersNew(4);
            if (headers == 0)
            {
                return;
            }

            Created = headers;
            *_slot = headers;
        }

        byte[] nameBytes = fieldIndex >= 0 ? tracing.FieldNames[fieldIndex] : tracing.HeaderName(name!);
        fixed (byte* namePointer = nameBytes)
        fixed (byte* valuePointer = value)
        {
            if (Created != headers)
            {
                native.HeaderRemove(headers, namePointer);
            }

            native.HeaderAdd(headers, namePointer, valuePointer, value.Length);
            Written |= fieldIndex >= 0 ? Bit(fieldIndex) : UnknownField;
        }
    }
}
