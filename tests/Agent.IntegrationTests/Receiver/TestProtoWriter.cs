using System.Buffers.Binary;
using System.Text;

namespace TraceAgent.IntegrationTests.Receiver;

/// <summary>
/// Protobuf encoder for building requests in tests. Written apart from the receiver's reader on
/// purpose: a shared misunderstanding of the wire format would otherwise pass its own tests.
/// </summary>
internal sealed class TestProtoWriter
{
    private readonly MemoryStream _stream = new();

    public TestProtoWriter Varint(int field, ulong value)
    {
        Tag(field, 0);
        RawVarint(value);
        return this;
    }

    public TestProtoWriter Int64(int field, long value) => Varint(field, unchecked((ulong)value));

    public TestProtoWriter Fixed64(int field, ulong value)
    {
        Tag(field, 1);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        _stream.Write(bytes);
        return this;
    }

    public TestProtoWriter Double(int field, double value) => Fixed64(field, BitConverter.DoubleToUInt64Bits(value));

    public TestProtoWriter Fixed32(int field, uint value)
    {
        Tag(field, 5);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        _stream.Write(bytes);
        return this;
    }

    public TestProtoWriter Bytes(int field, byte[] value)
    {
        Tag(field, 2);
        RawVarint((ulong)value.Length);
        _stream.Write(value);
        return this;
    }

    public TestProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public TestProtoWriter Message(int field, TestProtoWriter message) => Bytes(field, message.ToArray());

    public TestProtoWriter Message(int field, Action<TestProtoWriter> build)
    {
        var message = new TestProtoWriter();
        build(message);
        return Message(field, message);
    }

    /// <summary>A proto2 group with a varint and a nested group inside, which readers must skip whole.</summary>
    public TestProtoWriter Group(int field)
    {
        Tag(field, 3);
        Varint(1, 42);
        Tag(2, 3);
        String(1, "nested");
        Tag(2, 4);
        Tag(field, 4);
        return this;
    }

    /// <summary>One unknown field of every wire type, numbered high enough never to clash with OTLP.</summary>
    public TestProtoWriter UnknownFields()
    {
        Varint(1001, 300);
        Fixed64(1002, ulong.MaxValue);
        Fixed32(1003, 7);
        String(1004, "ignore me");
        Group(1005);
        return this;
    }

    public TestProtoWriter KeyValue(int field, string key, Action<TestProtoWriter> anyValue) =>
        Message(field, kv => kv.String(1, key).Message(2, anyValue));

    public TestProtoWriter StringAttribute(int field, string key, string value) =>
        KeyValue(field, key, v => v.String(1, value));

    public byte[] ToArray() => _stream.ToArray();

    private void Tag(int field, int wireType) => RawVarint(((ulong)field << 3) | (uint)wireType);

    private void RawVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        _stream.WriteByte((byte)value);
    }
}
