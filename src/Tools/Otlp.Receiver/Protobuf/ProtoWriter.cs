using System.Text;

namespace TraceAgent.Otlp.Receiver.Protobuf;

/// <summary>
/// Writes the handful of messages the receiver sends back (error statuses, retry hints). Responses
/// are tiny, so a growable array is plenty.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly List<byte> _bytes = [];

    public void WriteVarintField(int fieldNumber, ulong value)
    {
        WriteTag(fieldNumber, WireType.Varint);
        WriteVarint(value);
    }

    public void WriteStringField(int fieldNumber, string value) =>
        WriteBytesField(fieldNumber, Encoding.UTF8.GetBytes(value));

    public void WriteBytesField(int fieldNumber, ReadOnlySpan<byte> value)
    {
        WriteTag(fieldNumber, WireType.LengthDelimited);
        WriteVarint((ulong)value.Length);
        foreach (byte b in value)
        {
            _bytes.Add(b);
        }
    }

    public void WriteMessageField(int fieldNumber, ProtoWriter message) =>
        WriteBytesField(fieldNumber, message.ToArray());

    public byte[] ToArray() => [.. _bytes];

    private void WriteTag(int fieldNumber, WireType wireType) =>
        WriteVarint(((ulong)fieldNumber << 3) | (ulong)wireType);

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        _bytes.Add((byte)value);
    }
}
