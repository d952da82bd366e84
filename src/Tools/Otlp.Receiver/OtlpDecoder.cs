using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace TraceAgent.Otlp.Receiver;

/// <summary>
/// Decodes OTLP protobuf export requests into flat span and log records with the classes generated
/// from the official opentelemetry-proto definitions (tests/Otlp.Official), so what an exporter
/// sends is judged by the specification's schema, not by a reading written next to the encoder.
/// Unknown fields are skipped; a truncated message, malformed wire format or a known field with the
/// wrong wire type throws <see cref="FormatException"/>.
/// </summary>
public static class OtlpDecoder
{
    /// <summary>Decodes an <c>ExportTraceServiceRequest</c> (the same bytes as a <c>TracesData</c>).</summary>
    public static List<ReceivedSpan> DecodeTraces(ReadOnlySpan<byte> request)
    {
        var parsed = Parse(request, ExportTraceServiceRequest.Parser, ExportTraceServiceRequest.Descriptor);
        var spans = new List<ReceivedSpan>();
        foreach (var resourceSpans in parsed.ResourceSpans)
        {
            var resource = Attributes(resourceSpans.Resource?.Attributes);
            foreach (var scopeSpans in resourceSpans.ScopeSpans)
            {
                var scopeName = scopeSpans.Scope?.Name ?? "";
                var scopeVersion = scopeSpans.Scope?.Version ?? "";
                foreach (var span in scopeSpans.Spans)
                {
                    spans.Add(ToSpan(span, resource, scopeName, scopeVersion));
                }
            }
        }

        return spans;
    }

    /// <summary>Decodes an <c>ExportLogsServiceRequest</c> (the same bytes as a <c>LogsData</c>).</summary>
    public static List<ReceivedLogRecord> DecodeLogs(ReadOnlySpan<byte> request)
    {
        var parsed = Parse(request, ExportLogsServiceRequest.Parser, ExportLogsServiceRequest.Descriptor);
        var logs = new List<ReceivedLogRecord>();
        foreach (var resourceLogs in parsed.ResourceLogs)
        {
            var resource = Attributes(resourceLogs.Resource?.Attributes);
            foreach (var scopeLogs in resourceLogs.ScopeLogs)
            {
                var scopeName = scopeLogs.Scope?.Name ?? "";
                var scopeVersion = scopeLogs.Scope?.Version ?? "";
                foreach (var record in scopeLogs.LogRecords)
                {
                    logs.Add(ToLogRecord(record, resource, scopeName, scopeVersion));
                }
            }
        }

        return logs;
    }

    private static T Parse<T>(ReadOnlySpan<byte> request, MessageParser<T> parser, Google.Protobuf.Reflection.MessageDescriptor descriptor)
        where T : IMessage<T>
    {
        // The wire check first: it also turns malformed wire format into one clear message.
        SchemaWireCheck.Check(request, descriptor);
        try
        {
            return parser.ParseFrom(request);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new FormatException(ex.Message, ex);
        }
    }

    private static ReceivedSpan ToSpan(Span span, IReadOnlyDictionary<string, object?> resource, string scopeName, string scopeVersion)
    {
        var parent = Hex(span.ParentSpanId);
        return new ReceivedSpan
        {
            TraceId = Hex(span.TraceId),
            SpanId = Hex(span.SpanId),
            ParentSpanId = IsAllZero(parent) ? "" : parent,
            TraceState = span.TraceState,
            Flags = span.Flags,
            Name = span.Name,
            Kind = (int)span.Kind,
            StartTimeUnixNano = span.StartTimeUnixNano,
            EndTimeUnixNano = span.EndTimeUnixNano,
            Attributes = Attributes(span.Attributes),
            DroppedAttributesCount = span.DroppedAttributesCount,
            Events = span.Events.Select(e => new ReceivedSpanEvent
            {
                Name = e.Name,
                TimeUnixNano = e.TimeUnixNano,
                Attributes = Attributes(e.Attributes),
                DroppedAttributesCount = e.DroppedAttributesCount,
            }).ToList(),
            DroppedEventsCount = span.DroppedEventsCount,
            Links = span.Links.Select(l => new ReceivedSpanLink
            {
                TraceId = Hex(l.TraceId),
                SpanId = Hex(l.SpanId),
                TraceState = l.TraceState,
                Flags = l.Flags,
                Attributes = Attributes(l.Attributes),
                DroppedAttributesCount = l.DroppedAttributesCount,
            }).ToList(),
            DroppedLinksCount = span.DroppedLinksCount,
            StatusCode = span.Status is null ? 0 : (int)span.Status.Code,
            StatusMessage = span.Status?.Message ?? "",
            ResourceAttributes = resource,
            ScopeName = scopeName,
            ScopeVersion = scopeVersion,
        };
    }

    private static ReceivedLogRecord ToLogRecord(LogRecord record, IReadOnlyDictionary<string, object?> resource, string scopeName, string scopeVersion)
    {
        var traceId = Hex(record.TraceId);
        var spanId = Hex(record.SpanId);
        return new ReceivedLogRecord
        {
            TimeUnixNano = record.TimeUnixNano,
            ObservedTimeUnixNano = record.ObservedTimeUnixNano,
            SeverityNumber = (int)record.SeverityNumber,
            SeverityText = record.SeverityText,
            Body = record.Body is null ? null : Value(record.Body),
            Attributes = Attributes(record.Attributes),
            DroppedAttributesCount = record.DroppedAttributesCount,
            Flags = record.Flags,
            TraceId = IsAllZero(traceId) ? "" : traceId,
            SpanId = IsAllZero(spanId) ? "" : spanId,
            EventName = record.EventName,
            ResourceAttributes = resource,
            ScopeName = scopeName,
            ScopeVersion = scopeVersion,
        };
    }

    /// <summary>Duplicate keys are invalid OTLP; keeping the last one matches how most backends behave.</summary>
    private static IReadOnlyDictionary<string, object?> Attributes(RepeatedField<KeyValue>? attributes)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (attributes is not null)
        {
            foreach (var attribute in attributes)
            {
                values[attribute.Key] = attribute.Value is null ? null : Value(attribute.Value);
            }
        }

        return values.AsReadOnly();
    }

    /// <summary>
    /// Maps an AnyValue onto string, bool, long, double, byte[], object?[] (array) or a read-only
    /// dictionary (kvlist); an AnyValue with nothing set is null.
    /// </summary>
    private static object? Value(AnyValue value) => value.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue,
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue,
        AnyValue.ValueOneofCase.BytesValue => value.BytesValue.ToByteArray(),
        AnyValue.ValueOneofCase.ArrayValue => value.ArrayValue.Values.Select(Value).ToArray(),
        AnyValue.ValueOneofCase.KvlistValue => Attributes(value.KvlistValue.Values),
        _ => null,
    };

    private static string Hex(ByteString bytes) => bytes.IsEmpty ? "" : Convert.ToHexStringLower(bytes.Span);

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
