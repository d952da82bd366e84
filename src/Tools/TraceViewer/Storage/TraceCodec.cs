using System.Collections.ObjectModel;
using System.IO.Compression;
using System.Text;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;

namespace TraceAgent.Viewer.Storage;

/// <summary>
/// The stored form of a trace: its spans, log records and findings in a compact binary layout
/// (length-prefixed UTF-8 strings, attribute values tagged with their OTLP type), deflated. A trace
/// read back is the trace received, values of the same types; keeping the findings spares the
/// analysis at start (reading 10000 traces back costs about a second of CPU rather than several).
/// </summary>
internal static class TraceCodec
{
    private const uint Magic = 0x31564154; // "TAV1"

    private enum ValueTag : byte
    {
        Null,
        String,
        Bool,
        Long,
        Double,
        Bytes,
        Array,
        Map,
    }

    public static byte[] Encode(IEnumerable<ReceivedSpan> spans, IEnumerable<ReceivedLogRecord> logs, IEnumerable<Finding> findings)
    {
        using var output = new MemoryStream();
        using (var deflate = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new BinaryWriter(deflate, Encoding.UTF8))
        {
            // The spans of one process share their resource: it is written once and referred to by index.
            ReceivedSpan[] spanList = [.. spans];
            ReceivedLogRecord[] logList = [.. logs];
            var resources = new List<IReadOnlyDictionary<string, object?>>();
            var indexes = new Dictionary<string, int>(StringComparer.Ordinal);
            int ResourceIndex(IReadOnlyDictionary<string, object?> resource)
            {
                string key = Query.TagValue.Json(resource);
                if (!indexes.TryGetValue(key, out int index))
                {
                    indexes[key] = index = resources.Count;
                    resources.Add(resource);
                }

                return index;
            }

            int[] spanResources = [.. spanList.Select(s => ResourceIndex(s.ResourceAttributes))];
            int[] logResources = [.. logList.Select(l => ResourceIndex(l.ResourceAttributes))];
            writer.Write(Magic);
            WriteList(writer, resources, WriteAttributes);
            writer.Write7BitEncodedInt(spanList.Length);
            for (int i = 0; i < spanList.Length; i++)
            {
                WriteSpan(writer, spanList[i], spanResources[i]);
            }

            writer.Write7BitEncodedInt(logList.Length);
            for (int i = 0; i < logList.Length; i++)
            {
                WriteLog(writer, logList[i], logResources[i]);
            }

            WriteList(writer, [.. findings], WriteFinding);
        }

        return output.ToArray();
    }

    /// <exception cref="InvalidDataException">The bytes are not a stored trace.</exception>
    public static (List<ReceivedSpan> Spans, List<ReceivedLogRecord> Logs, List<Finding> Findings) Decode(byte[] data)
    {
        try
        {
            using var input = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
            using var reader = new BinaryReader(input, Encoding.UTF8);
            if (reader.ReadUInt32() != Magic)
            {
                throw new InvalidDataException("not a stored trace (unknown format)");
            }

            List<IReadOnlyDictionary<string, object?>> resources = ReadList(reader, ReadAttributes);
            return (ReadList(reader, r => ReadSpan(r, resources)), ReadList(reader, r => ReadLog(r, resources)), ReadList(reader, ReadFinding));
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or FormatException or ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"not a stored trace: {ex.Message}", ex);
        }
    }

    private static void WriteList<T>(BinaryWriter writer, IReadOnlyList<T> items, Action<BinaryWriter, T> write)
    {
        writer.Write7BitEncodedInt(items.Count);
        foreach (T item in items)
        {
            write(writer, item);
        }
    }

    private static List<T> ReadList<T>(BinaryReader reader, Func<BinaryReader, T> read)
    {
        int count = reader.Read7BitEncodedInt();
        var items = new List<T>(Math.Min(count, 4096));
        for (int i = 0; i < count; i++)
        {
            items.Add(read(reader));
        }

        return items;
    }

    private static void WriteSpan(BinaryWriter w, ReceivedSpan span, int resource)
    {
        w.Write(span.TraceId);
        w.Write(span.SpanId);
        w.Write(span.ParentSpanId);
        w.Write(span.TraceState);
        w.Write(span.Flags);
        w.Write(span.Name);
        w.Write(span.Kind);
        w.Write(span.StartTimeUnixNano);
        w.Write(span.EndTimeUnixNano);
        w.Write(span.StatusCode);
        w.Write(span.StatusMessage);
        WriteAttributes(w, span.Attributes);
        w.Write(span.DroppedAttributesCount);
        WriteList(w, span.Events, (w, e) =>
        {
            w.Write(e.Name);
            w.Write(e.TimeUnixNano);
            WriteAttributes(w, e.Attributes);
            w.Write(e.DroppedAttributesCount);
        });
        w.Write(span.DroppedEventsCount);
        WriteList(w, span.Links, (w, link) =>
        {
            w.Write(link.TraceId);
            w.Write(link.SpanId);
            w.Write(link.TraceState);
            w.Write(link.Flags);
            WriteAttributes(w, link.Attributes);
            w.Write(link.DroppedAttributesCount);
        });
        w.Write(span.DroppedLinksCount);
        w.Write7BitEncodedInt(resource);
        w.Write(span.ScopeName);
        w.Write(span.ScopeVersion);
    }

    private static ReceivedSpan ReadSpan(BinaryReader r, List<IReadOnlyDictionary<string, object?>> resources) => new()
    {
        TraceId = r.ReadString(),
        SpanId = r.ReadString(),
        ParentSpanId = r.ReadString(),
        TraceState = r.ReadString(),
        Flags = r.ReadUInt32(),
        Name = r.ReadString(),
        Kind = r.ReadInt32(),
        StartTimeUnixNano = r.ReadUInt64(),
        EndTimeUnixNano = r.ReadUInt64(),
        StatusCode = r.ReadInt32(),
        StatusMessage = r.ReadString(),
        Attributes = ReadAttributes(r),
        DroppedAttributesCount = r.ReadUInt32(),
        Events = ReadList(r, r => new ReceivedSpanEvent
        {
            Name = r.ReadString(),
            TimeUnixNano = r.ReadUInt64(),
            Attributes = ReadAttributes(r),
            DroppedAttributesCount = r.ReadUInt32(),
        }),
        DroppedEventsCount = r.ReadUInt32(),
        Links = ReadList(r, r => new ReceivedSpanLink
        {
            TraceId = r.ReadString(),
            SpanId = r.ReadString(),
            TraceState = r.ReadString(),
            Flags = r.ReadUInt32(),
            Attributes = ReadAttributes(r),
            DroppedAttributesCount = r.ReadUInt32(),
        }),
        DroppedLinksCount = r.ReadUInt32(),
        ResourceAttributes = resources[r.Read7BitEncodedInt()],
        ScopeName = r.ReadString(),
        ScopeVersion = r.ReadString(),
    };

    private static void WriteLog(BinaryWriter w, ReceivedLogRecord log, int resource)
    {
        w.Write(log.TimeUnixNano);
        w.Write(log.ObservedTimeUnixNano);
        w.Write(log.SeverityNumber);
        w.Write(log.SeverityText);
        WriteValue(w, log.Body);
        WriteAttributes(w, log.Attributes);
        w.Write(log.DroppedAttributesCount);
        w.Write(log.TraceId);
        w.Write(log.SpanId);
        w.Write(log.Flags);
        w.Write(log.EventName);
        w.Write7BitEncodedInt(resource);
        w.Write(log.ScopeName);
        w.Write(log.ScopeVersion);
    }

    private static ReceivedLogRecord ReadLog(BinaryReader r, List<IReadOnlyDictionary<string, object?>> resources) => new()
    {
        TimeUnixNano = r.ReadUInt64(),
        ObservedTimeUnixNano = r.ReadUInt64(),
        SeverityNumber = r.ReadInt32(),
        SeverityText = r.ReadString(),
        Body = ReadValue(r),
        Attributes = ReadAttributes(r),
        DroppedAttributesCount = r.ReadUInt32(),
        TraceId = r.ReadString(),
        SpanId = r.ReadString(),
        Flags = r.ReadUInt32(),
        EventName = r.ReadString(),
        ResourceAttributes = resources[r.Read7BitEncodedInt()],
        ScopeName = r.ReadString(),
        ScopeVersion = r.ReadString(),
    };

    private static void WriteFinding(BinaryWriter w, Finding finding)
    {
        w.Write(finding.Rule);
        w.Write((byte)finding.Severity);
        w.Write(finding.Message);
        WriteList(w, finding.SpanIds, (w, id) => w.Write(id));
        WriteList(w, [.. finding.Details], (w, detail) =>
        {
            w.Write(detail.Key);
            w.Write(detail.Value);
        });
    }

    private static Finding ReadFinding(BinaryReader r) => new(
        r.ReadString(),
        (FindingSeverity)r.ReadByte(),
        r.ReadString(),
        ReadList(r, r => r.ReadString()),
        ReadList(r, r => (Key: r.ReadString(), Value: r.ReadString())).ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal));

    private static void WriteAttributes(BinaryWriter w, IReadOnlyDictionary<string, object?> attributes)
    {
        w.Write7BitEncodedInt(attributes.Count);
        foreach ((string key, object? value) in attributes)
        {
            w.Write(key);
            WriteValue(w, value);
        }
    }

    private static IReadOnlyDictionary<string, object?> ReadAttributes(BinaryReader r)
    {
        int count = r.Read7BitEncodedInt();
        if (count == 0)
        {
            return ReadOnlyDictionary<string, object?>.Empty;
        }

        var attributes = new Dictionary<string, object?>(count, StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            attributes[r.ReadString()] = ReadValue(r);
        }

        return attributes;
    }

    private static void WriteValue(BinaryWriter w, object? value)
    {
        switch (value)
        {
            case null:
                w.Write((byte)ValueTag.Null);
                break;
            case string text:
                w.Write((byte)ValueTag.String);
                w.Write(text);
                break;
            case bool flag:
                w.Write((byte)ValueTag.Bool);
                w.Write(flag);
                break;
            case long number:
                w.Write((byte)ValueTag.Long);
                w.Write(number);
                break;
            case int number:
                w.Write((byte)ValueTag.Long);
                w.Write((long)number);
                break;
            case double number:
                w.Write((byte)ValueTag.Double);
                w.Write(number);
                break;
            case byte[] bytes:
                w.Write((byte)ValueTag.Bytes);
                w.Write7BitEncodedInt(bytes.Length);
                w.Write(bytes);
                break;
            case IReadOnlyDictionary<string, object?> map:
                w.Write((byte)ValueTag.Map);
                WriteAttributes(w, map);
                break;
            case System.Collections.IEnumerable items:
                object?[] array = [.. items.Cast<object?>()];
                w.Write((byte)ValueTag.Array);
                w.Write7BitEncodedInt(array.Length);
                foreach (object? item in array)
                {
                    WriteValue(w, item);
                }

                break;
            default:
                w.Write((byte)ValueTag.String);
                w.Write(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
                break;
        }
    }

    private static object? ReadValue(BinaryReader r)
    {
        var tag = (ValueTag)r.ReadByte();
        switch (tag)
        {
            case ValueTag.Null:
                return null;
            case ValueTag.String:
                return r.ReadString();
            case ValueTag.Bool:
                return r.ReadBoolean();
            case ValueTag.Long:
                return r.ReadInt64();
            case ValueTag.Double:
                return r.ReadDouble();
            case ValueTag.Bytes:
                int length = r.Read7BitEncodedInt();
                byte[] bytes = r.ReadBytes(length);
                return bytes.Length == length ? bytes : throw new EndOfStreamException();
            case ValueTag.Map:
                return ReadAttributes(r);
            case ValueTag.Array:
                int count = r.Read7BitEncodedInt();
                var items = new object?[count];
                for (int i = 0; i < count; i++)
                {
                    items[i] = ReadValue(r);
                }

                return items;
            default:
                throw new InvalidDataException($"unknown value type {(byte)tag}");
        }
    }
}
