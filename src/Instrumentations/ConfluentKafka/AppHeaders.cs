using System.Runtime.InteropServices;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// Keeps a delivery report what it would be without the agent. The agent's propagation headers are
/// written into the message; delivery reports carry the message's headers back (Confluent reads them
/// into DeliveryResult), so they are taken out again, and where the app had a header of such a name
/// (replaced on the wire), the app's whole list is put back as it was, in order.
/// </summary>
internal static unsafe class AppHeaders
{
    /// <summary>
    /// The app's headers, in order, when one of them has a propagator's name; null otherwise, the
    /// common case, which costs one scan.
    /// </summary>
    public static List<NativeHeader>? SnapshotIfConflicting(KafkaTracing tracing, nint headers)
    {
        if (headers == 0)
        {
            return null;
        }

        var native = tracing.Native;
        bool conflict = false;
        for (int i = 0; !conflict && native.HeaderGetAll(headers, i, out byte* name, out _, out _) == 0; i++)
        {
            conflict = tracing.IsFieldName(name);
        }

        if (!conflict)
        {
            return null;
        }

        var snapshot = new List<NativeHeader>();
        for (int i = 0; native.HeaderGetAll(headers, i, out byte* name, out byte* value, out nuint size) == 0; i++)
        {
            var nameBytes = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name);
            var copy = new byte[nameBytes.Length + 1];
            nameBytes.CopyTo(copy);
            snapshot.Add(new NativeHeader(copy, value == null ? null : new ReadOnlySpan<byte>(value, (int)size).ToArray()));
        }

        return snapshot;
    }

    /// <summary>Takes the agent's headers (a bit per field in <paramref name="written"/>) out of a reported message and puts the app's back.</summary>
    public static void Restore(KafkaTracing tracing, nint message, uint written, List<NativeHeader>? appHeaders)
    {
        var native = tracing.Native;
        nint headers = native.MessageHeaders(message);
        if (headers == 0)
        {
            return;
        }

        // Only the names the agent wrote: an app header of another propagator name was left as it
        // was, and if there is one, appHeaders puts the app's whole list back below anyway.
        byte[][] fields = tracing.FieldNames;
        for (int i = 0; i < fields.Length; i++)
        {
            if ((written & ProducerHeaderWriter.Bit(i)) != 0)
            {
                fixed (byte* name = fields[i])
                {
                    native.HeaderRemove(headers, name);
                }
            }
        }

        if (appHeaders is null)
        {
            return;
        }

        foreach (var header in appHeaders)
        {
            fixed (byte* name = header.Name)
            {
                native.HeaderRemove(headers, name);
            }
        }

        byte empty = 0;
        foreach (var header in appHeaders)
        {
            fixed (byte* name = header.Name)
            fixed (byte* value = header.Value)
            {
                // fixed yields null for an empty array; an empty value is not a null value.
                byte* pointer = header.Value is { Length: 0 } ? &empty : value;
                native.HeaderAdd(headers, name, pointer, header.Value?.Length ?? 0);
            }
        }
    }
}

/// <summary>A header copied out of a native list: NUL-terminated name, value (null for a null value).</summary>
internal sealed record NativeHeader(byte[] Name, byte[]? Value);
