using Google.Protobuf.Reflection;
using TraceAgent.Otlp.Receiver.Protobuf;

namespace TraceAgent.Otlp.Receiver;

/// <summary>
/// A check the protobuf runtime does not make: every field the official OTLP schema declares must
/// arrive with the wire type the schema gives it (a fixed64 timestamp sent as a varint is kept by
/// the runtime as an "unknown field", silently). Driven by the official descriptors, so no field
/// number is written here; unknown field numbers are skipped, as protobuf requires.
/// </summary>
internal static class SchemaWireCheck
{
    private const int MaxDepth = 64;

    public static void Check(ReadOnlySpan<byte> message, MessageDescriptor descriptor) => Check(message, descriptor, 0);

    private static void Check(ReadOnlySpan<byte> message, MessageDescriptor descriptor, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new FormatException($"Messages nested more than {MaxDepth} deep.");
        }

        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            var field = descriptor.FindFieldByNumber(reader.FieldNumber);
            if (field is null)
            {
                reader.Skip();
                continue;
            }

            var expected = WireTypeOf(field.FieldType);
            if (reader.WireType == WireType.LengthDelimited && expected != WireType.LengthDelimited && field.IsRepeated)
            {
                // A packed repeated number.
                reader.Skip();
                continue;
            }

            if (reader.WireType != expected)
            {
                throw new FormatException($"{descriptor.Name}.{field.Name} (field {field.FieldNumber}) has wire type {reader.WireType}; the schema says {field.FieldType}.");
            }

            if (field.FieldType == FieldType.Message)
            {
                Check(reader.ExpectLengthDelimited(), field.MessageType, depth + 1);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private static WireType WireTypeOf(FieldType type) => type switch
    {
        FieldType.Double or FieldType.Fixed64 or FieldType.SFixed64 => WireType.Fixed64,
        FieldType.Float or FieldType.Fixed32 or FieldType.SFixed32 => WireType.Fixed32,
        FieldType.String or FieldType.Bytes or FieldType.Message => WireType.LengthDelimited,
        FieldType.Group => WireType.StartGroup,
        _ => WireType.Varint,
    };
}
