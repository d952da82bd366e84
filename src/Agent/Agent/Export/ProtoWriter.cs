using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace TraceAgent.Export;

/// <summary>
/// A protobuf wire-format writer into one growing buffer that is reused from export to export.
/// Nested messages reserve a 4-byte length and patch it afterwards with a padded varint, which the
/// protobuf wire format allows, so no size pass is needed. Messages that are nearly always short
/// (an attribute and its value) reserve one byte instead and move their body in the rare case it
/// reaches 128 bytes: six bytes fewer per attribute on the wire.
/// </summary>
internal sealed class ProtoWriter
{
    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

    private byte[] _buffer;
    private int _position;

    public ProtoWriter(int initialCapacity = 64 * 1024)
    {
        _buffer = new byte[initialCapacity];
    }

    public int Length => _position;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _position);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _position);

    /// <summary>Drops what was written after <paramref name="length"/> bytes (a <see cref="Length"/> read earlier).</summary>
    public void Rewind(int length) => _position = length;

    public void Reset()
    {
        _position = 0;

        // Do not keep a huge buffer alive after one unusually large batch.
        if (_buffer.Length > 4 * 1024 * 1024)
        {
            _buffer = new byte[64 * 1024];
        }
    }

    /// <summary>Writes into <paramref name="buffer"/> from its start, growing it as needed, until <see cref="Detach"/>.</summary>
    public void Attach(byte[] buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>The buffer written since <see cref="Attach"/> (the same array, or a larger copy) and its length; the writer lets go of it.</summary>
    public byte[] Detach(out int length)
    {
        var buffer = _buffer;
        length = _position;
        _buffer = [];
        _position = 0;
        return buffer;
    }

    /// <summary>
    /// Room for <paramref name="size"/> bytes at the end, to be written directly; pass how many were
    /// written to <see cref="Advance"/>.
    /// </summary>
    public Span<byte> GetSpan(int size)
    {
        Ensure(size);
        return _buffer.AsSpan(_position);
    }

    public void Advance(int count) => _position += count;

    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_position));
        _position += bytes.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteTag(int field, int wireType) => WriteVarint((uint)((field << 3) | wireType));

    // Tags and most lengths are one byte: that case is inlined into the callers.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteVarint(ulong value)
    {
        if (value < 0x80 && _position < _buffer.Length)
        {
            _buffer[_position++] = (byte)value;
            return;
        }

        WriteVarintSlow(value);
    }

    private void WriteVarintSlow(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _buffer[_position++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _buffer[_position++] = (byte)value;
    }

    public void WriteVarintField(int field, ulong value)
    {
        WriteTag(field, WireVarint);
        WriteVarint(value);
    }

    public void WriteInt64Field(int field, long value) => WriteVarintField(field, unchecked((ulong)value));

    public void WriteBoolField(int field, bool value) => WriteVarintField(field, value ? 1UL : 0UL);

    public void WriteFixed64Field(int field, ulong value)
    {
        WriteTag(field, WireFixed64);
        Ensure(8);
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(_position), value);
        _position += 8;
    }

    public void WriteDoubleField(int field, double value) => WriteFixed64Field(field, BitConverter.DoubleToUInt64Bits(value));

    public void WriteFixed32Field(int field, uint value)
    {
        WriteTag(field, WireFixed32);
        Ensure(4);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_position), value);
        _position += 4;
    }

    public void WriteBytesField(int field, ReadOnlySpan<byte> value)
    {
        WriteTag(field, WireLengthDelimited);
        WriteVarint((uint)value.Length);
        WriteRaw(value);
    }

    public void WriteStringField(int field, string value)
    {
        if (value.Length < 128)
        {
            // Encoded at once behind a one-byte length, which the text nearly always fits: ASCII,
            // copied by the narrowing loop without the UTF-8 encoder's set-up. Other text is encoded
            // as UTF-8, and EndMessage moves it right by one byte if it outgrew the length (at most
            // 381 bytes take a two-byte length).
            var start = BeginMessage(field, expectShort: true);
            Ensure(Encoding.UTF8.GetMaxByteCount(value.Length));
            if (Ascii.FromUtf16(value, _buffer.AsSpan(_position), out var copied) == OperationStatus.Done)
            {
                _position += copied;
                _buffer[start] = (byte)copied;
                return;
            }

            _position += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_position));
            EndMessage(start, expectShort: true);
            return;
        }

        WriteTag(field, WireLengthDelimited);
        var length = Encoding.UTF8.GetByteCount(value);
        WriteVarint((uint)length);
        Ensure(length);
        Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_position));
        _position += length;
    }

    /// <summary>Starts a length-delimited field; pass the result to <see cref="EndMessage"/>.</summary>
    public int BeginMessage(int field)
    {
        WriteTag(field, WireLengthDelimited);
        Ensure(4);
        var start = _position;
        _position += 4;
        return start;
    }

    public void EndMessage(int start)
    {
        var length = _position - start - 4;
        _buffer[start] = (byte)((length & 0x7F) | 0x80);
        _buffer[start + 1] = (byte)(((length >> 7) & 0x7F) | 0x80);
        _buffer[start + 2] = (byte)(((length >> 14) & 0x7F) | 0x80);
        _buffer[start + 3] = (byte)((length >> 21) & 0x7F);
    }

    /// <summary>
    /// Starts a length-delimited field; one expected to be shorter than 128 bytes gets a one-byte
    /// length (a longer body is still written correctly). Pass the same expectation to EndMessage.
    /// </summary>
    public int BeginMessage(int field, bool expectShort)
    {
        if (!expectShort)
        {
            return BeginMessage(field);
        }

        WriteTag(field, WireLengthDelimited);
        Ensure(1);
        return _position++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EndMessage(int start, bool expectShort)
    {
        var length = _position - start - 1;
        if (expectShort && length < 0x80)
        {
            _buffer[start] = (byte)length;
            return;
        }

        EndMessageSlow(start, expectShort);
    }

    private void EndMessageSlow(int start, bool expectShort)
    {
        if (!expectShort)
        {
            EndMessage(start);
            return;
        }

        var length = _position - start - 1;

        // Longer than expected: move the body (the last thing written) right by the length's extra bytes.
        var extra = VarintSize((uint)length) - 1;
        Ensure(extra);
        _buffer.AsSpan(start + 1, length).CopyTo(_buffer.AsSpan(start + 1 + extra));
        _position = start;
        WriteVarintSlow((uint)length);
        _position += length;
    }

    private static int VarintSize(uint value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    private void Ensure(int extra)
    {
        if (_position + extra <= _buffer.Length)
        {
            return;
        }

        var size = Math.Max(_buffer.Length * 2, _position + extra);
        Array.Resize(ref _buffer, size);
    }
}
