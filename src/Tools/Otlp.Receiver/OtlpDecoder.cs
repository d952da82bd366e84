using TraceAgent.Otlp.Receiver.Protobuf;

namespace TraceAgent.Otlp.Receiver;

/// <summary>
/// Decodes OTLP protobuf export requests into flat span and log records. Field numbers follow
/// opentelemetry-proto (collector/trace/v1, collector/logs/v1 and the messages they use); unknown
/// fields are skipped, a known field with the wrong wire type or a truncated message throws
/// <see cref="FormatException"/>.
/// </summary>
public static class OtlpDecoder
{
    /// <summary>Decodes an <c>ExportTraceServiceRequest</c> (the same bytes as a <c>TracesData</c>).</summary>
    public static List<ReceivedSpan> DecodeTraces(ReadOnlySpan<byte> request)
    {
        var spans = new List<ReceivedSpan>();
        var reader = new ProtoReader(request);
        while (reader.ReadTag())
        {
            if (reader.FieldNumber == 1)
            {
                ReadResourceSpans(reader.ExpectLengthDelimited(), spans);
            }
            else
            {
                reader.Skip();
            }
        }

        return spans;
    }

    /// <summary>Decodes an <c>ExportLogsServiceRequest</c> (the same bytes as a <c>LogsData</c>).</summary>
    public static List<ReceivedLogRecord> DecodeLogs(ReadOnlySpan<byte> request)
    {
        var logs = new List<ReceivedLogRecord>();
        var reader = new ProtoReader(request);
        while (reader.ReadTag())
        {
            if (reader.FieldNumber == 1)
            {
                ReadResourceLogs(reader.ExpectLengthDelimited(), logs);
            }
            else
            {
                reader.Skip();
            }
        }

        return logs;
    }

    // Protobuf allows fields in any order, so the resource (field 1) may follow the scope spans
    // (field 2). Reading the message twice, resource first, avoids buffering decoded spans only to
    // patch their resource in afterwards.
    private static void ReadResourceSpans(ReadOnlySpan<byte> message, List<ReceivedSpan> spans)
    {
        IReadOnlyDictionary<string, object?> resource = ReadResourceField(message);
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            if (reader.FieldNumber == 2)
            {
                ReadScopeSpans(reader.ExpectLengthDelimited(), resource, spans);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private static void ReadScopeSpans(
        ReadOnlySpan<byte> message,
        IReadOnlyDictionary<string, object?> resource,
        List<ReceivedSpan> spans)
    {
        (string scopeName, string scopeVersion) = ReadScopeField(message);
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            if (reader.FieldNumber == 2)
            {
                spans.Add(ReadSpan(reader.ExpectLengthDelimited(), resource, scopeName, scopeVersion));
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private static void ReadResourceLogs(ReadOnlySpan<byte> message, List<ReceivedLogRecord> logs)
    {
        IReadOnlyDictionary<string, object?> resource = ReadResourceField(message);
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            if (reader.FieldNumber == 2)
            {
                ReadScopeLogs(reader.ExpectLengthDelimited(), resource, logs);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    private static void ReadScopeLogs(
        ReadOnlySpan<byte> message,
        IReadOnlyDictionary<string, object?> resource,
        List<ReceivedLogRecord> logs)
    {
        (string scopeName, string scopeVersion) = ReadScopeField(message);
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            if (reader.FieldNumber == 2)
            {
                logs.Add(ReadLogRecord(reader.ExpectLengthDelimited(), resource, scopeName, scopeVersion));
            }
            else
            {
                reader.Skip();
            }
        }
    }

    /// <summary>Reads field 1 (<c>Resource</c>) of a ResourceSpans/ResourceLogs; repeated occurrences merge.</summary>
    private static IReadOnlyDictionary<string, object?> ReadResourceField(ReadOnlySpan<byte> message)
    {
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            if (reader.FieldNumber == 1)
            {
                var resource = new ProtoReader(reader.ExpectLengthDelimited());
                while (resource.ReadTag())
                {
                    if (resource.FieldNumber == 1)
                    {
                        ReadKeyValue(resource.ExpectLengthDelimited(), attributes);
                    }
                    else
                    {
                        resource.Skip();
                    }
                }
            }
            else
            {
                reader.Skip();
            }
        }

        return attributes.AsReadOnly();
    }

    /// <summary>Reads field 1 (<c>InstrumentationScope</c>) of a ScopeSpans/ScopeLogs.</summary>
    private static (string Name, string Version) ReadScopeField(ReadOnlySpan<byte> message)
    {
        string name = "";
        string version = "";
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            if (reader.FieldNumber == 1)
            {
                var scope = new ProtoReader(reader.ExpectLengthDelimited());
                while (scope.ReadTag())
                {
                    switch (scope.FieldNumber)
                    {
                        case 1:
                            name = scope.ExpectString();
                            break;
                        case 2:
                            version = scope.ExpectString();
                            break;
                        default:
                            scope.Skip();
                            break;
                    }
                }
            }
            else
            {
                reader.Skip();
            }
        }

        return (name, version);
    }

    private static ReceivedSpan ReadSpan(
        ReadOnlySpan<byte> message,
        IReadOnlyDictionary<string, object?> resource,
        string scopeName,
        string scopeVersion)
    {
        string traceId = "";
        string spanId = "";
        string traceState = "";
        string parentSpanId = "";
        uint flags = 0;
        string name = "";
        int kind = 0;
        ulong start = 0;
        ulong end = 0;
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        uint droppedAttributes = 0;
        var events = new List<ReceivedSpanEvent>();
        uint droppedEvents = 0;
        var links = new List<ReceivedSpanLink>();
        uint droppedLinks = 0;
        int statusCode = 0;
        string statusMessage = "";

        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    traceId = ToHex(reader.ExpectLengthDelimited());
                    break;
                case 2:
                    spanId = ToHex(reader.ExpectLengthDelimited());
                    break;
                case 3:
                    traceState = reader.ExpectString();
                    break;
                case 4:
                    parentSpanId = ToHex(reader.ExpectLengthDelimited());
                    break;
                case 5:
                    name = reader.ExpectString();
                    break;
                case 6:
                    kind = unchecked((int)reader.ExpectVarint());
                    break;
                case 7:
                    start = reader.ExpectFixed64();
                    break;
                case 8:
                    end = reader.ExpectFixed64();
                    break;
                case 9:
                    ReadKeyValue(reader.ExpectLengthDelimited(), attributes);
                    break;
                case 10:
                    droppedAttributes = unchecked((uint)reader.ExpectVarint());
                    break;
                case 11:
                    events.Add(ReadEvent(reader.ExpectLengthDelimited()));
                    break;
                case 12:
                    droppedEvents = unchecked((uint)reader.ExpectVarint());
                    break;
                case 13:
                    links.Add(ReadLink(reader.ExpectLengthDelimited()));
                    break;
                case 14:
                    droppedLinks = unchecked((uint)reader.ExpectVarint());
                    break;
                case 15:
                    // A repeated embedded message merges, so a second Status only overrides what it sets.
                    ReadStatus(reader.ExpectLengthDelimited(), ref statusCode, ref statusMessage);
                    break;
                case 16:
                    flags = reader.ExpectFixed32();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new ReceivedSpan
        {
            TraceId = traceId,
            SpanId = spanId,
            ParentSpanId = IsAllZero(parentSpanId) ? "" : parentSpanId,
            TraceState = traceState,
            Flags = flags,
            Name = name,
            Kind = kind,
            StartTimeUnixNano = start,
            EndTimeUnixNano = end,
            Attributes = attributes.AsReadOnly(),
            DroppedAttributesCount = droppedAttributes,
            Events = events,
            DroppedEventsCount = droppedEvents,
            Links = links,
            DroppedLinksCount = droppedLinks,
            StatusCode = statusCode,
            StatusMessage = statusMessage,
            ResourceAttributes = resource,
            ScopeName = scopeName,
            ScopeVersion = scopeVersion,
        };
    }

    private static ReceivedSpanEvent ReadEvent(ReadOnlySpan<byte> message)
    {
        ulong time = 0;
        string name = "";
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        uint dropped = 0;
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    time = reader.ExpectFixed64();
                    break;
                case 2:
                    name = reader.ExpectString();
                    break;
                case 3:
                    ReadKeyValue(reader.ExpectLengthDelimited(), attributes);
                    break;
                case 4:
                    dropped = unchecked((uint)reader.ExpectVarint());
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new ReceivedSpanEvent
        {
            Name = name,
            TimeUnixNano = time,
            Attributes = attributes.AsReadOnly(),
            DroppedAttributesCount = dropped,
        };
    }

    private static ReceivedSpanLink ReadLink(ReadOnlySpan<byte> message)
    {
        string traceId = "";
        string spanId = "";
        string traceState = "";
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        uint dropped = 0;
        uint flags = 0;
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    traceId = ToHex(reader.ExpectLengthDelimited());
                    break;
                case 2:
                    spanId = ToHex(reader.ExpectLengthDelimited());
                    break;
                case 3:
                    traceState = reader.ExpectString();
                    break;
                case 4:
                    ReadKeyValue(reader.ExpectLengthDelimited(), attributes);
                    break;
                case 5:
                    dropped = unchecked((uint)reader.ExpectVarint());
                    break;
                case 6:
                    flags = reader.ExpectFixed32();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new ReceivedSpanLink
        {
            TraceId = traceId,
            SpanId = spanId,
            TraceState = traceState,
            Flags = flags,
            Attributes = attributes.AsReadOnly(),
            DroppedAttributesCount = dropped,
        };
    }

    private static void ReadStatus(ReadOnlySpan<byte> message, ref int code, ref string statusMessage)
    {
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            switch (reader.FieldNumber)
            {
                // Field 1 was the deprecated_code of early OTLP versions; it is skipped like any unknown field.
                case 2:
                    statusMessage = reader.ExpectString();
                    break;
                case 3:
                    code = unchecked((int)reader.ExpectVarint());
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }

    private static ReceivedLogRecord ReadLogRecord(
        ReadOnlySpan<byte> message,
        IReadOnlyDictionary<string, object?> resource,
        string scopeName,
        string scopeVersion)
    {
        ulong time = 0;
        ulong observedTime = 0;
        int severityNumber = 0;
        string severityText = "";
        object? body = null;
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        uint dropped = 0;
        uint flags = 0;
        string traceId = "";
        string spanId = "";
        string eventName = "";
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    time = reader.ExpectFixed64();
                    break;
                case 2:
                    severityNumber = unchecked((int)reader.ExpectVarint());
                    break;
                case 3:
                    severityText = reader.ExpectString();
                    break;
                case 5:
                    body = ReadAnyValue(reader.ExpectLengthDelimited());
                    break;
                case 6:
                    ReadKeyValue(reader.ExpectLengthDelimited(), attributes);
                    break;
                case 7:
                    dropped = unchecked((uint)reader.ExpectVarint());
                    break;
                case 8:
                    flags = reader.ExpectFixed32();
                    break;
                case 9:
                    traceId = ToHex(reader.ExpectLengthDelimited());
                    break;
                case 10:
                    spanId = ToHex(reader.ExpectLengthDelimited());
                    break;
                case 11:
                    observedTime = reader.ExpectFixed64();
                    break;
                case 12:
                    eventName = reader.ExpectString();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return new ReceivedLogRecord
        {
            TimeUnixNano = time,
            ObservedTimeUnixNano = observedTime,
            SeverityNumber = severityNumber,
            SeverityText = severityText,
            Body = body,
            Attributes = attributes.AsReadOnly(),
            DroppedAttributesCount = dropped,
            Flags = flags,
            TraceId = IsAllZero(traceId) ? "" : traceId,
            SpanId = IsAllZero(spanId) ? "" : spanId,
            EventName = eventName,
            ResourceAttributes = resource,
            ScopeName = scopeName,
            ScopeVersion = scopeVersion,
        };
    }

    private static void ReadKeyValue(ReadOnlySpan<byte> message, Dictionary<string, object?> target)
    {
        string key = "";
        object? value = null;
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    key = reader.ExpectString();
                    break;
                case 2:
                    value = ReadAnyValue(reader.ExpectLengthDelimited());
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        // Duplicate keys are invalid OTLP; keeping the last one matches how most backends behave.
        target[key] = value;
    }

    /// <summary>
    /// Maps an AnyValue onto string, bool, long, double, byte[], object?[] (array) or a read-only
    /// dictionary (kvlist); an AnyValue with nothing set is null.
    /// </summary>
    private static object? ReadAnyValue(ReadOnlySpan<byte> message)
    {
        object? value = null;
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            // The fields form a oneof, so the last one present wins.
            switch (reader.FieldNumber)
            {
                case 1:
                    value = reader.ExpectString();
                    break;
                case 2:
                    value = reader.ExpectVarint() != 0;
                    break;
                case 3:
                    value = unchecked((long)reader.ExpectVarint());
                    break;
                case 4:
                    value = BitConverter.UInt64BitsToDouble(reader.ExpectFixed64());
                    break;
                case 5:
                    value = ReadArrayValue(reader.ExpectLengthDelimited());
                    break;
                case 6:
                    value = ReadKeyValueList(reader.ExpectLengthDelimited());
                    break;
                case 7:
                    value = reader.ExpectLengthDelimited().ToArray();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return value;
    }

    private static object?[] ReadArrayValue(ReadOnlySpan<byte> message)
    {
        var values = new List<object?>();
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            if (reader.FieldNumber == 1)
            {
                values.Add(ReadAnyValue(reader.ExpectLengthDelimited()));
            }
            else
            {
                reader.Skip();
            }
        }

        return [.. values];
    }

    private static IReadOnlyDictionary<string, object?> ReadKeyValueList(ReadOnlySpan<byte> message)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        var reader = new ProtoReader(message);
        while (reader.ReadTag())
        {
            if (reader.FieldNumber == 1)
            {
                ReadKeyValue(reader.ExpectLengthDelimited(), values);
            }
            else
            {
                reader.Skip();
            }
        }

        return values.AsReadOnly();
    }

    private static string ToHex(ReadOnlySpan<byte> bytes) => bytes.IsEmpty ? "" : Convert.ToHexStringLower(bytes);

    private static bool IsAllZero(string hex)
    {
        foreach (char c in hex)
        {
            if (c != '0')
            {
                return false;
            }
        }

        return true;
    }
}
