using System.Globalization;
using System.Text.Json;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Model;
using TraceAgent.Viewer.Output;
using TraceAgent.Viewer.Query;

namespace TraceAgent.Viewer.Api;

/// <summary>
/// Traces in the JSON of Jaeger's query API (what the Jaeger UI and Grafana's Jaeger data source
/// read), converted from OTLP the way the OpenTelemetry-to-Jaeger translation does: status and
/// kind become the tags error, otel.status_code, otel.status_description and span.kind; the
/// parent becomes a CHILD_OF reference and links FOLLOWS_FROM ones; events become logs with an
/// "event" field; the resource becomes the process. Log records written inside a span are
/// added to its logs too (event "log"), so a Jaeger client shows them where they happened.
/// </summary>
internal static class JaegerJson
{
    // Jaeger writes integers outside JavaScript's safe range as strings, so a browser does not round them.
    private const long MaxSafeInteger = (1L << 53) - 1;

    /// <summary>The envelope every answer shares: data, total, limit, offset, errors.</summary>
    public static void WriteEnvelope(Utf8JsonWriter json, Action<Utf8JsonWriter> writeData, int total = 0)
    {
        json.WriteStartObject();
        json.WritePropertyName("data");
        writeData(json);
        json.WriteNumber("total", total);
        json.WriteNumber("limit", 0);
        json.WriteNumber("offset", 0);
        json.WriteNull("errors");
        json.WriteEndObject();
    }

    public static void WriteError(Utf8JsonWriter json, int code, string message)
    {
        json.WriteStartObject();
        json.WriteNull("data");
        json.WriteNumber("total", 0);
        json.WriteNumber("limit", 0);
        json.WriteNumber("offset", 0);
        json.WriteStartArray("errors");
        json.WriteStartObject();
        json.WriteNumber("code", code);
        json.WriteString("msg", message);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>Jaeger prints a 128-bit trace id whose high half is zero as 16 digits.</summary>
    public static string TraceId(string traceId) =>
        traceId.Length == 32 && traceId.AsSpan(0, 16).IndexOfAnyExcept('0') < 0 ? traceId[16..] : traceId;

    public static void WriteTrace(Utf8JsonWriter json, TraceTree tree)
    {
        var processes = new Dictionary<string, (string Id, SpanNode First)>(StringComparer.Ordinal);
        var processOf = new Dictionary<SpanNode, string>();
        foreach (SpanNode span in tree.Spans)
        {
            string key = span.Service + "\n" + TagValue.Json(span.Span.ResourceAttributes);
            if (!processes.TryGetValue(key, out (string Id, SpanNode First) process))
            {
                process = ("p" + (processes.Count + 1).ToString(CultureInfo.InvariantCulture), span);
                processes[key] = process;
            }

            processOf[span] = process.Id;
        }

        json.WriteStartObject();
        json.WriteString("traceID", TraceId(tree.TraceId));
        json.WriteStartArray("spans");
        foreach (SpanNode span in tree.Spans)
        {
            WriteSpan(json, span, processOf[span]);
        }

        json.WriteEndArray();
        json.WriteStartObject("processes");
        foreach ((string id, SpanNode first) in processes.Values)
        {
            json.WriteStartObject(id);
            json.WriteString("serviceName", first.Service);
            json.WriteStartArray("tags");
            foreach ((string key, object? value) in first.Span.ResourceAttributes)
            {
                if (key != "service.name")
                {
                    WriteTag(json, key, value);
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteNull("warnings");
        json.WriteEndObject();
    }

    private static void WriteSpan(Utf8JsonWriter json, SpanNode node, string processId)
    {
        ReceivedSpan span = node.Span;
        json.WriteStartObject();
        json.WriteString("traceID", TraceId(span.TraceId));
        json.WriteString("spanID", span.SpanId);
        uint flags = span.Flags & 0xFF;
        if (flags != 0)
        {
            json.WriteNumber("flags", flags);
        }

        json.WriteString("operationName", span.Name);
        json.WriteStartArray("references");
        if (span.ParentSpanId.Length > 0)
        {
            WriteReference(json, "CHILD_OF", span.TraceId, span.ParentSpanId);
        }

        foreach (ReceivedSpanLink link in span.Links)
        {
            WriteReference(json, "FOLLOWS_FROM", link.TraceId, link.SpanId);
        }

        json.WriteEndArray();
        json.WriteNumber("startTime", node.Start / 1000);
        json.WriteNumber("duration", node.DurationNanos / 1000);
        json.WriteStartArray("tags");
        foreach ((string key, object? value) in span.Attributes)
        {
            WriteTag(json, key, value);
        }

        if (span.ScopeName.Length > 0)
        {
            WriteTag(json, "otel.scope.name", span.ScopeName);
        }

        if (span.ScopeVersion.Length > 0)
        {
            WriteTag(json, "otel.scope.version", span.ScopeVersion);
        }

        if (span.Kind != SpanKinds.Unspecified)
        {
            WriteTag(json, "span.kind", span.KindName);
        }

        if (span.StatusCode is 1 or 2)
        {
            WriteTag(json, "otel.status_code", span.StatusCode == 2 ? "ERROR" : "OK");
        }

        if (span.StatusCode == 2)
        {
            WriteTag(json, "error", true);
        }

        if (span.StatusMessage.Length > 0)
        {
            WriteTag(json, "otel.status_description", span.StatusMessage);
        }

        if (span.TraceState.Length > 0)
        {
            WriteTag(json, "w3c.tracestate", span.TraceState);
        }

        json.WriteEndArray();
        json.WriteStartArray("logs");
        var logs = span.Events.Select(e => (Time: e.TimeUnixNano, Event: (ReceivedSpanEvent?)e, Log: (ReceivedLogRecord?)null))
            .Concat(node.Logs.Select(l => (Time: l.TimeUnixNano, Event: (ReceivedSpanEvent?)null, Log: (ReceivedLogRecord?)l)))
            .OrderBy(l => l.Time);
        foreach ((ulong time, ReceivedSpanEvent? e, ReceivedLogRecord? log) in logs)
        {
            json.WriteStartObject();
            json.WriteNumber("timestamp", time / 1000);
            json.WriteStartArray("fields");
            if (e is not null)
            {
                WriteTag(json, "event", e.Name);
                foreach ((string key, object? value) in e.Attributes)
                {
                    WriteTag(json, key, value);
                }
            }
            else
            {
                WriteTag(json, "event", "log");
                WriteTag(json, "level", log!.SeverityText.Length > 0 ? log.SeverityText : log.SeverityNumber.ToString(CultureInfo.InvariantCulture));
                WriteTag(json, "message", LogMessage.Render(log));
                foreach ((string key, object? value) in log.Attributes)
                {
                    WriteTag(json, key, value);
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteString("processID", processId);
        json.WriteNull("warnings");
        json.WriteEndObject();
    }

    private static void WriteReference(Utf8JsonWriter json, string type, string traceId, string spanId)
    {
        json.WriteStartObject();
        json.WriteString("refType", type);
        json.WriteString("traceID", TraceId(traceId));
        json.WriteString("spanID", spanId);
        json.WriteEndObject();
    }

    /// <summary>One tag: string, bool, int64, float64 or binary, as Jaeger types them; arrays and maps as JSON strings.</summary>
    public static void WriteTag(Utf8JsonWriter json, string key, object? value)
    {
        json.WriteStartObject();
        json.WriteString("key", key);
        switch (value)
        {
            case bool flag:
                json.WriteString("type", "bool");
                json.WriteBoolean("value", flag);
                break;
            case long or int:
                long number = Convert.ToInt64(value, CultureInfo.InvariantCulture);
                json.WriteString("type", "int64");
                if (number is > MaxSafeInteger or < -MaxSafeInteger)
                {
                    json.WriteString("value", number.ToString(CultureInfo.InvariantCulture));
                }
                else
                {
                    json.WriteNumber("value", number);
                }

                break;
            case double real when double.IsFinite(real):
                json.WriteString("type", "float64");
                json.WriteNumber("value", real);
                break;
            case byte[] bytes:
                json.WriteString("type", "binary");
                json.WriteBase64String("value", bytes);
                break;
            default:
                json.WriteString("type", "string");
                json.WriteString("value", TagValue.Text(value));
                break;
        }

        json.WriteEndObject();
    }
}
