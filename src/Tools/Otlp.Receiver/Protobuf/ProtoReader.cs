using System.Buffers.Binary;

namespace TraceAgent.Otlp.Receiver.Protobuf;

/// <summary>
/// Reads the protobuf wire format field by field. It knows nothing about OTLP; callers switch on
/// the field number and call <see cref="Skip"/> for anything they do not understand, which is what
/// keeps the decoder compatible with newer exporters that send fields this reader predates.
/// </summary>
internal ref struct ProtoReader
{
    // Nested groups are a proto2 relic nobody sends in OTLP; the limit only stops a hostile
    // payload from recursing the stack away.
    private const int MaxGroupDepth = 64;

    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public ProtoReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public int FieldNumber { get; private set; }

    public WireType WireType { get; private set; }

    public bool ReadTag()
    {
        if (_position >= _buffer.Length)
        {
            return false;
        }

        ulong tag = ReadVarint();
        ulong fieldNumber = tag >> 3;
        if (fieldNumber == 0 || fieldNumber > int.MaxValue)
        {
            throw new FormatException($"Invalid protobuf field number {fieldNumber} at offset {_position}.");
        }

        FieldNumber = (int)fieldNumber;
        WireType = (WireType)(tag & 7);
        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _buffer.Length)
            {
                throw new FormatException("Truncated protobuf varint.");
            }

            byte b = _buffer[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw new FormatException("Protobuf varint longer than 10 bytes.");
    }

    public ulong ReadFixed64()
    {
        EnsureAvailable(8);
        ulong value = BinaryPrimitives.ReadUInt64LittleEndian(_buffer.Slice(_position, 8));
        _position += 8;
        return value;
    }

    public uint ReadFixed32()
    {
        EnsureAvailable(4);
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.Slice(_position, 4));
        _position += 4;
        return value;
    }

    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_buffer.Length - _position))
        {
            throw new FormatException($"Protobuf length {length} runs past the end of the message.");
        }

        ReadOnlySpan<byte> slice = _buffer.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    /// <summary>Reads the current field as a varint, failing if it was sent with another wire type.</summary>
    public ulong ExpectVarint()
    {
        Expect(WireType.Varint);
        return ReadVarint();
    }

    public ulong ExpectFixed64()
    {
        Expect(WireType.Fixed64);
        return ReadFixed64();
    }

    public uint ExpectFixed32()
    {
        Expect(WireType.Fixed32);
        return ReadFixed32();
    }

    public ReadOnlySpan<byte> ExpectLengthDelimited()
    {
        Expect(WireType.LengthDelimited);
        return ReadLengthDelimited();
    }

    public string ExpectString() => System.Text.Encoding.UTF8.GetString(ExpectLengthDelimited());

    public void Skip() => Skip(WireType, FieldNumber, 0);

    private void Skip(WireType wireType, int fieldNumber, int depth)
    {
        switch (wireType)
        {
            case WireType.Varint:
                ReadVarint();
                break;
            case WireType.Fixed64:
                EnsureAvailable(8);
                _position += 8;
                break;
            case WireType.LengthDelimited:
                ReadLengthDelimited();
                break;
            case WireType.Fixed32:
                EnsureAvailable(4);
                _position += 4;
                break;
            case WireType.StartGroup:
                if (depth >= MaxGroupDepth)
                {
                    throw new FormatException("Protobuf groups nested too deeply.");
                }

                while (true)
                {
                    if (!ReadTag())
                    {
                        throw new FormatException($"Unterminated protobuf group {fieldNumber}.");
                    }

                    if (WireType == WireType.EndGroup)
                    {
                        if (FieldNumber != fieldNumber)
                        {
                            throw new FormatException($"Protobuf group {fieldNumber} closed by end-group {FieldNumber}.");
                        }

                        break;
                    }

                    Skip(WireType, FieldNumber, depth + 1);
                }

                break;
            default:
                throw new FormatException($"Invalid protobuf wire type {(int)wireType} for field {fieldNumber}.");
        }
    }

    private readonly void Expect(WireType expected)
    {
        if (WireType != expected)
        {
            throw new FormatException($"Protobuf field {FieldNumber} has wire type {WireType}, expected {expected}.");
        }
    }

    private readonly void EnsureAvailable(int count)
    {
        if (_buffer.Length - _position < count)
        {
            throw new FormatException("Truncated protobuf fixed-width value.");
        }
    }
}
