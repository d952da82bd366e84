using System.Buffers;
using System.Collections.ObjectModel;
using System.IO.Compression;
using System.Text.Json;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.Viewer.Storage;

/// <summary>
/// The stored form of a trace's spans and log records: compact JSON, deflated. Attribute values
/// keep their OTLP type (a value is an object with one member naming it: s string, i integer,
/// d double, b bool, x bytes, a array, m map, n null), so a trace read back is the trace received.
/// </summary>
internal static class TraceCodec
{
    private const int Version = 1;

    public static byte[] Encode(IEnumerable<ReceivedSpan> spans, IEnumerable<ReceivedLogRecord> logs)
    {
        using var output = new MemoryStream();
        using (var deflate = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var json = new Utf8JsonWriter(deflate))
        {
            json.WriteStartObject();
            json.WriteNumber("v", Version);
            json.WriteStartArray("spans");
            foreach (ReceivedSpan span in spans)
            {
                WriteSpan(json, span);
            }

            json.WriteEndArray();
            json.WriteStartArray("logs");
            foreach (ReceivedLogRecord log in logs)
            {
                WriteLog(json, log);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return output.ToArray();
    }

    /// <exception cref="InvalidDataException">The bytes are not a stored trace.</exception>
    public static (List<ReceivedSpan> Spans, List<ReceivedLogRecord> Logs) Decode(byte[] data)
    {
        try
        {
            using var input = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
            using JsonDocument document = JsonDocument.Parse(input);
            JsonElement root = document.RootElement;
            if (root.GetProperty("v").GetInt32() != Version)
            {
                throw new InvalidDataException($"stored trace format {root.GetProperty("v").GetInt32()} is not {Version}");
            }

            return (
                [.. root.GetProperty("spans").EnumerateArray().Select(ReadSpan)],
                [.. root.GetProperty("logs").EnumerateArray().Select(ReadLog)]);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"not a stored trace: {ex.Message}", ex);
        }
    }

    private static void WriteSpan(Utf8JsonWriter json, ReceivedSpan span)
    {
        json.WriteStartObject();
        json.WriteString("t", span.TraceId);
        json.WriteString("id", span.SpanId);
        json.WriteString("p", span.ParentSpanId);
        json.WriteString("ts", span.TraceState);
        json.WriteNumber("f", span.Flags);
        json.WriteString("n", span.Name);
        json.WriteNumber("k", span.Kind);
        json.WriteNumber("s", span.StartTimeUnixNano);
        json.WriteNumber("e", span.EndTimeUnixNano);
        json.WriteNumber("sc", span.StatusCode);
        json.WriteString("sm", span.StatusMessage);
        WriteAttributes(json, "a", span.Attributes);
        json.WriteNumber("da", span.DroppedAttributesCount);
        json.WriteStartArray("ev");
        foreach (ReceivedSpanEvent e in span.Events)
        {
            json.WriteStartObject();
            json.WriteString("n", e.Name);
            json.WriteNumber("t", e.TimeUnixNano);
            WriteAttributes(json, "a", e.Attributes);
            json.WriteNumber("da", e.DroppedAttributesCount);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("de", span.DroppedEventsCount);
        json.WriteStartArray("l");
        foreach (ReceivedSpanLink link in span.Links)
        {
            json.WriteStartObject();
            json.WriteString("t", link.TraceId);
            json.WriteString("id", link.SpanId);
            json.WriteString("ts", link.TraceState);
            json.WriteNumber("f", link.Flags);
            WriteAttributes(json, "a", link.Attributes);
            json.WriteNumber("da", link.DroppedAttributesCount);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("dl", span.DroppedLinksCount);
        WriteAttributes(json, "r", span.ResourceAttributes);
        json.WriteString("sn", span.ScopeName);
        json.WriteString("sv", span.ScopeVersion);
        json.WriteEndObject();
    }

    private static ReceivedSpan ReadSpan(JsonElement e) => new()
    {
        TraceId = e.GetProperty("t").GetString()!,
        SpanId = e.GetProperty("id").GetString()!,
        ParentSpanId = e.GetProperty("p").GetString()!,
        TraceState = e.GetProperty("ts").GetString()!,
        Flags = e.GetProperty("f").GetUInt32(),
        Name = e.GetProperty("n").GetString()!,
        Kind = e.GetProperty("k").GetInt32(),
        StartTimeUnixNano = e.GetProperty("s").GetUInt64(),
        EndTimeUnixNano = e.GetProperty("e").GetUInt64(),
        StatusCode = e.GetProperty("sc").GetInt32(),
        StatusMessage = e.GetProperty("sm").GetString()!,
        Attributes = ReadAttributes(e.GetProperty("a")),
        DroppedAttributesCount = e.GetProperty("da").GetUInt32(),
        Events = [.. e.GetProperty("ev").EnumerateArray().Select(v => new ReceivedSpanEvent
        {
            Name = v.GetProperty("n").GetString()!,
            TimeUnixNano = v.GetProperty("t").GetUInt64(),
            Attributes = ReadAttributes(v.GetProperty("a")),
            DroppedAttributesCount = v.GetProperty("da").GetUInt32(),
        })],
        DroppedEventsCount = e.GetProperty("de").GetUInt32(),
        Links = [.. e.GetProperty("l").EnumerateArray().Select(v => new ReceivedSpanLink
        {
            TraceId = v.GetProperty("t").GetString()!,
            SpanId = v.GetProperty("id").GetString()!,
            TraceState = v.GetProperty("ts").GetString()!,
            Flags = v.GetProperty("f").GetUInt32(),
            Attributes = ReadAttributes(v.GetProperty("a")),
            DroppedAttributesCount = v.GetProperty("da").GetUInt32(),
        })],
        DroppedLinksCount = e.GetProperty("dl").GetUInt32(),
        ResourceAttributes = ReadAttributes(e.GetProperty("r")),
        ScopeName = e.GetProperty("sn").GetString()!,
        ScopeVersion = e.GetProperty("sv").GetString()!,
    };

    private static void WriteLog(Utf8JsonWriter json, ReceivedLogRecord log)
    {
        json.WriteStartObject();
        json.WriteNumber("t", log.TimeUnixNano);
        json.WriteNumber("o", log.ObservedTimeUnixNano);
        json.WriteNumber("sn", log.SeverityNumber);
        json.WriteString("st", log.SeverityText);
        json.WritePropertyName("b");
        WriteValue(json, log.Body);
        WriteAttributes(json, "a", log.Attributes);
        json.WriteNumber("da", log.DroppedAttributesCount);
        json.WriteString("tr", log.TraceId);
        json.WriteString("sp", log.SpanId);
        json.WriteNumber("f", log.Flags);
        json.WriteString("en", log.EventName);
        WriteAttributes(json, "r", log.ResourceAttributes);
        json.WriteString("scn", log.ScopeName);
        json.WriteString("scv", log.ScopeVersion);
        json.WriteEndObject();
    }

    private static ReceivedLogRecord ReadLog(JsonElement e) => new()
    {
        TimeUnixNano = e.GetProperty("t").GetUInt64(),
        ObservedTimeUnixNano = e.GetProperty("o").GetUInt64(),
        SeverityNumber = e.GetProperty("sn").GetInt32(),
        SeverityText = e.GetProperty("st").GetString()!,
        Body = ReadValue(e.GetProperty("b")),
        Attributes = ReadAttributes(e.GetProperty("a")),
        DroppedAttributesCount = e.GetProperty("da").GetUInt32(),
        TraceId = e.GetProperty("tr").GetString()!,
        SpanId = e.GetProperty("sp").GetString()!,
        Flags = e.GetProperty("f").GetUInt32(),
        EventName = e.GetProperty("en").GetString()!,
        ResourceAttributes = ReadAttributes(e.GetProperty("r")),
        ScopeName = e.GetProperty("scn").GetString()!,
        ScopeVersion = e.GetProperty("scv").GetString()!,
    };

    private static void WriteAttributes(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, object?> attributes)
    {
        json.WriteStartObject(name);
        foreach ((string key, object? value) in attributes)
        {
            json.WritePropertyName(key);
            WriteValue(json, value);
        }

        json.WriteEndObject();
    }

    private static IReadOnlyDictionary<string, object?> ReadAttributes(JsonElement e)
    {
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (JsonProperty property in e.EnumerateObject())
        {
            attributes[property.Name] = ReadValue(property.Value);
        }

        return attributes.Count == 0 ? ReadOnlyDictionary<string, object?>.Empty : attributes;
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        json.WriteStartObject();
        switch (value)
        {
            case null:
                json.WriteNull("n");
                break;
            case string text:
                json.WriteString("s", text);
                break;
            case bool flag:
                json.WriteBoolean("b", flag);
                break;
            case long number:
                json.WriteNumber("i", number);
                break;
            case int number:
                json.WriteNumber("i", number);
                break;
            case double number:
                // NaN and infinities are legal OTLP doubles but not JSON numbers.
                json.WriteString("d", number.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                break;
            case byte[] bytes:
                json.WriteBase64String("x", bytes);
                break;
            case IReadOnlyDictionary<string, object?> map:
                WriteAttributes(json, "m", map);
                break;
            case System.Collections.IEnumerable items:
                json.WriteStartArray("a");
                foreach (object? item in items)
                {
                    WriteValue(json, item);
                }

                json.WriteEndArray();
                break;
            default:
                json.WriteString("s", Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }

        json.WriteEndObject();
    }

    private static object? ReadValue(JsonElement e)
    {
        JsonProperty member = e.EnumerateObject().First();
        JsonElement v = member.Value;
        return member.Name switch
        {
            "n" => null,
            "s" => v.GetString(),
            "b" => v.GetBoolean(),
            "i" => v.GetInt64(),
            "d" => double.Parse(v.GetString()!, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture),
            "x" => v.GetBytesFromBase64(),
            "m" => ReadAttributes(v),
            "a" => v.EnumerateArray().Select(ReadValue).ToArray(),
            _ => throw new InvalidDataException($"unknown value type '{member.Name}'"),
        };
    }
}
