namespace TraceAgent.Export;

/// <summary>
/// Reads the protobuf wire format of the few small messages the agent receives (OTLP partial
/// success, gRPC status details): one reader for all of them.
/// </summary>
internal static class ProtoFieldReader
{
    /// <summary>
    /// Reads the next field: its number, wire type, and its value (a varint) or payload (length-delimited);
    /// fixed-size values are skipped. False at the end of the data or on malformed input.
    /// </summary>
    public static bool TryField(ref ReadOnlySpan<byte> data, out ulong field, out int wireType, out ulong varint, out ReadOnlySpan<byte> payload)
    {
        field = 0;
        wireType = 0;
        varint = 0;
        payload = default;
        if (data.IsEmpty || !TryVarint(ref data, out var tag))
        {
            return false;
        }

        field = tag >> 3;
        wireType = (int)(tag & 7);
        switch (wireType)
        {
            case 0:
                return TryVarint(ref data, out varint);
            case 1:
                if (data.Length < 8)
                {
                    return false;
                }

                data = data[8..];
                return true;
            case 5:
                if (data.Length < 4)
                {
                    return false;
                }

                data = data[4..];
                return true;
            case 2:
                if (!TryVarint(ref data, out var length) || length > (ulong)data.Length)
                {
                    return false;
                }

                payload = data[..(int)length];
                data = data[(int)length..];
                return true;
            default:
                return false;
        }
    }

    public static bool TryVarint(ref ReadOnlySpan<byte> data, out ulong value)
    {
        value = 0;
        for (var i = 0; i < 10 && i < data.Length; i++)
        {
            value |= (ulong)(data[i] & 0x7F) << (7 * i);
            if ((data[i] & 0x80) == 0)
            {
                data = data[(i + 1)..];
                return true;
            }
        }

        return false;
    }
}
