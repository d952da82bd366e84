using System.Text.Encodings.Web;
using System.Text.Json;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Model;
using TraceAgent.Viewer.Query;

namespace TraceAgent.Viewer.Output;

/// <summary>One finished (or, at shutdown, unfinished) trace as the JSON report holds it.</summary>
internal sealed record ReportedTrace(TraceTree Tree, IReadOnlyList<Finding> Findings, bool Complete);

/// <summary>
/// Writes every trace with all span fields, its log records and its findings. The file is
/// written beside the target and renamed over it, so a reader never sees half a document.
/// </summary>
internal static class JsonReport
{
    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void WriteFile(string path, IReadOnlyList<ReportedTrace> traces)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temporary = full + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            Write(stream, traces);
        }

        File.Move(temporary, full, overwrite: true);
    }

    public static void Write(Stream stream, IReadOnlyList<ReportedTrace> traces)
    {
        using var json = new Utf8JsonWriter(stream, Options);
        json.WriteStartObject();
        json.WriteString("generatedAt", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteNumber("traceCount", traces.Count);
        json.WriteStartArray("traces");
        foreach (ReportedTrace trace in traces)
        {
            WriteTrace(json, trace);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteTrace(Utf8JsonWriter json, ReportedTrace reported)
    {
        TraceTree tree = reported.Tree;
        json.WriteStartObject();
        json.WriteString("traceId", tree.TraceId);
        json.WriteBoolean("complete", reported.Complete);
        json.WriteString("name", tree.Main?.Label ?? "");
        json.WriteNumber("spanCount", tree.Spans.Count);
        json.WriteNumber("durationMs", tree.DurationNanos / 1_000_000.0);
        json.WriteNumber("startTimeUnixNano", tree.Start);
        json.WriteNumber("endTimeUnixNano", tree.End);
        json.WriteStartArray("services");
        foreach (string service in tree.Services)
        {
            json.WriteStringValue(service);
        }

        json.WriteEndArray();
        json.WriteStartArray("criticalPath");
        foreach (string id in reported.Findings.Where(f => f.Rule == CriticalPathRule.Id).SelectMany(f => f.SpanIds))
        {
            json.WriteStringValue(id);
        }

        json.WriteEndArray();
        json.WriteStartArray("findings");
        foreach (Finding finding in reported.Findings)
        {
            WriteFinding(json, finding, withSpans: true);
        }

        json.WriteEndArray();
        json.WriteStartArray("spans");
        foreach (SpanNode node in tree.Spans)
        {
            WriteSpan(json, node.Span, node.Depth);
        }

        json.WriteEndArray();
        json.WriteStartArray("logs");
        foreach (ReceivedLogRecord log in tree.Logs)
        {
            WriteLog(json, log);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteSpan(Utf8JsonWriter json, ReceivedSpan span, int depth)
    {
        json.WriteStartObject();
        json.WriteString("traceId", span.TraceId);
        json.WriteString("spanId", span.SpanId);
        json.WriteString("parentSpanId", span.ParentSpanId);
        json.WriteString("traceState", span.TraceState);
        json.WriteNumber("flags", span.Flags);
        json.WriteString("name", span.Name);
        json.WriteNumber("kind", span.Kind);
        json.WriteString("kindName", span.KindName);
        json.WriteString("serviceName", span.ServiceName);
        json.WriteNumber("depth", depth);
        json.WriteNumber("startTimeUnixNano", span.StartTimeUnixNano);
        json.WriteNumber("endTimeUnixNano", span.EndTimeUnixNano);
        json.WriteNumber("durationMs", span.Duration.TotalMilliseconds);
        json.WriteNumber("statusCode", span.StatusCode);
        json.WriteString("statusMessage", span.StatusMessage);
        WriteAttributes(json, "attributes", span.Attributes);
        json.WriteNumber("droppedAttributesCount", span.DroppedAttributesCount);
        json.WriteStartArray("events");
        foreach (ReceivedSpanEvent e in span.Events)
        {
            json.WriteStartObject();
            json.WriteString("name", e.Name);
            json.WriteNumber("timeUnixNano", e.TimeUnixNano);
            WriteAttributes(json, "attributes", e.Attributes);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("droppedEventsCount", span.DroppedEventsCount);
        json.WriteStartArray("links");
        foreach (ReceivedSpanLink link in span.Links)
        {
            json.WriteStartObject();
            json.WriteString("traceId", link.TraceId);
            json.WriteString("spanId", link.SpanId);
            json.WriteString("traceState", link.TraceState);
            json.WriteNumber("flags", link.Flags);
            WriteAttributes(json, "attributes", link.Attributes);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("droppedLinksCount", span.DroppedLinksCount);
        WriteAttributes(json, "resourceAttributes", span.ResourceAttributes);
        json.WriteString("scopeName", span.ScopeName);
        json.WriteString("scopeVersion", span.ScopeVersion);
        json.WriteEndObject();
    }

    private static void WriteLog(Utf8JsonWriter json, ReceivedLogRecord log)
    {
        json.WriteStartObject();
        json.WriteString("traceId", log.TraceId);
        json.WriteString("spanId", log.SpanId);
        json.WriteNumber("timeUnixNano", log.TimeUnixNano);
        json.WriteNumber("observedTimeUnixNano", log.ObservedTimeUnixNano);
        json.WriteNumber("severityNumber", log.SeverityNumber);
        json.WriteString("severityText", log.SeverityText);
        json.WritePropertyName("body");
        TagValue.Write(json, log.Body);
        json.WriteString("eventName", log.EventName);
        json.WriteString("serviceName", log.ServiceName);
        WriteAttributes(json, "attributes", log.Attributes);
        WriteAttributes(json, "resourceAttributes", log.ResourceAttributes);
        json.WriteString("scopeName", log.ScopeName);
        json.WriteEndObject();
    }

    private static void WriteAttributes(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, object?> attributes)
    {
        json.WriteStartObject(name);
        foreach ((string key, object? value) in attributes.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            json.WritePropertyName(key);
            TagValue.Write(json, value);
        }

        json.WriteEndObject();
    }

    /// <summary>
    /// One finding as the report and the viewer's API give it: its rule, severity and message, and
    /// with <paramref name="withSpans"/> the spans it is about and its details.
    /// </summary>
    public static void WriteFinding(Utf8JsonWriter json, Finding finding, bool withSpans)
    {
        json.WriteStartObject();
        json.WriteString("rule", finding.Rule);
        json.WriteString("severity", finding.Severity.ToString().ToLowerInvariant());
        json.WriteString("message", finding.Message);
        if (withSpans)
        {
            json.WriteStartArray("spanIds");
            foreach (string id in finding.SpanIds)
            {
                json.WriteStringValue(id);
            }

            json.WriteEndArray();
            json.WriteStartObject("details");
            foreach ((string key, string value) in finding.Details)
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
    }
}
