using System.Globalization;
using System.Text.Json;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Model;
using TraceAgent.Viewer.Output;
using TraceAgent.Viewer.Query;
using TraceAgent.Viewer.Storage;

namespace TraceAgent.Viewer.Api;

/// <summary>
/// The JSON the viewer's own pages read: trace summaries for the search page, one trace with its
/// tree, analysis and critical path for the trace page, the service map. Times inside a trace are
/// microseconds from the trace's start, as doubles: a browser's numbers cannot hold Unix
/// nanoseconds exactly.
/// </summary>
internal static class ViewerJson
{
    public static void WriteSummary(Utf8JsonWriter json, StoredTrace trace)
    {
        TraceTree tree = trace.Tree;
        SpanNode? main = tree.Main;
        json.WriteStartObject();
        json.WriteString("traceId", tree.TraceId);
        json.WriteString("name", main?.Label ?? "");
        json.WriteString("rootService", main?.Service ?? "");
        json.WriteString("rootName", main?.Span.Name ?? "");
        json.WriteNumber("startUnixMs", tree.Start / 1e6);
        json.WriteNumber("durationUs", tree.DurationNanos / 1e3);
        json.WriteNumber("spanCount", tree.Spans.Count);
        json.WriteNumber("errorCount", trace.ErrorCount);
        json.WriteBoolean("complete", trace.Reported.Complete);
        json.WriteBoolean("rootMissing", tree.Roots.Count == 0);
        json.WriteStartArray("services");
        foreach (IGrouping<string, SpanNode> service in tree.Spans.GroupBy(s => s.Service).OrderBy(g => g.Min(s => s.Start)))
        {
            json.WriteStartObject();
            json.WriteString("name", service.Key);
            json.WriteNumber("spans", service.Count());
            json.WriteNumber("errors", service.Count(s => s.IsError));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("findings");
        foreach (Finding finding in trace.Findings)
        {
            JsonReport.WriteFinding(json, finding, withSpans: false);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static void WriteTrace(Utf8JsonWriter json, StoredTrace trace, Func<string, bool> inStore)
    {
        TraceTree tree = trace.Tree;
        long origin = tree.Start;
        CriticalPath path = CriticalPath.Compute(tree);
        var critical = path.Segments.Where(s => s.Span is not null).ToLookup(s => s.Span!);
        var origins = trace.Findings.Where(f => f.Rule == ErrorOriginRule.Id && f.SpanIds.Count > 0).Select(f => f.SpanIds[0]).ToHashSet(StringComparer.Ordinal);

        json.WriteStartObject();
        json.WriteString("traceId", tree.TraceId);
        json.WriteString("name", tree.Main?.Label ?? "");
        json.WriteString("startUnixNano", tree.Start.ToString(CultureInfo.InvariantCulture));
        json.WriteNumber("startUnixMs", tree.Start / 1e6);
        json.WriteNumber("durationUs", tree.DurationNanos / 1e3);
        json.WriteNumber("spanCount", tree.Spans.Count);
        json.WriteNumber("errorCount", trace.ErrorCount);
        json.WriteNumber("depth", tree.Spans.Count == 0 ? 0 : tree.Spans.Max(s => s.Depth) + 1);
        json.WriteBoolean("complete", trace.Reported.Complete);
        json.WriteStartArray("services");
        foreach (string service in tree.Spans.OrderBy(s => s.Start).Select(s => s.Service).Distinct(StringComparer.Ordinal))
        {
            json.WriteStringValue(service);
        }

        json.WriteEndArray();

        json.WriteStartObject("criticalPath");
        json.WriteNumber("totalUs", path.TotalNanos / 1e3);
        json.WriteNumber("waitingUs", path.WaitingNanos / 1e3);
        json.WriteStartArray("segments");
        foreach (PathSegment segment in path.Segments)
        {
            json.WriteStartObject();
            if (segment.Span is not null)
            {
                json.WriteString("spanId", segment.Span.SpanId);
            }
            else
            {
                json.WriteNull("spanId");
            }

            json.WriteNumber("startUs", (segment.Start - origin) / 1e3);
            json.WriteNumber("endUs", (segment.End - origin) / 1e3);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();

        json.WriteStartArray("findings");
        foreach (Finding finding in trace.Findings)
        {
            JsonReport.WriteFinding(json, finding, withSpans: true);
        }

        json.WriteEndArray();

        json.WriteStartArray("spans");
        foreach (SpanNode span in TreeOrder(tree))
        {
            WriteSpan(json, span, origin, critical[span], origins.Contains(span.SpanId), inStore);
        }

        json.WriteEndArray();

        json.WriteStartArray("unattachedLogs");
        foreach (ReceivedLogRecord log in tree.Logs.Where(l => tree.Find(l.SpanId) is null))
        {
            WriteLog(json, log, origin);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>Depth first, children by start time: the order of the waterfall's rows.</summary>
    public static IEnumerable<SpanNode> TreeOrder(TraceTree tree)
    {
        var stack = new Stack<SpanNode>(tree.TopLevel.Reverse());
        while (stack.Count > 0)
        {
            SpanNode node = stack.Pop();
            yield return node;
            for (int i = node.Children.Count - 1; i >= 0; i--)
            {
                stack.Push(node.Children[i]);
            }
        }
    }

    private static void WriteSpan(Utf8JsonWriter json, SpanNode node, long origin, IEnumerable<PathSegment> critical, bool errorOrigin, Func<string, bool> inStore)
    {
        ReceivedSpan span = node.Span;
        json.WriteStartObject();
        json.WriteString("spanId", span.SpanId);
        json.WriteString("parentSpanId", span.ParentSpanId);
        json.WriteBoolean("parentMissing", span.ParentSpanId.Length > 0 && node.Parent is null);
        json.WriteNumber("depth", node.Depth);
        json.WriteNumber("childCount", node.Children.Count);
        json.WriteString("service", node.Service);
        json.WriteString("name", span.Name);
        json.WriteString("kind", span.KindName);
        json.WriteNumber("startUs", (node.Start - origin) / 1e3);
        json.WriteNumber("durationUs", node.DurationNanos / 1e3);
        json.WriteNumber("selfUs", SelfTime.Of(node) / 1e3);
        json.WriteBoolean("error", node.IsError);
        json.WriteBoolean("errorOrigin", errorOrigin);
        json.WriteNumber("statusCode", span.StatusCode);
        json.WriteString("statusMessage", span.StatusMessage);
        json.WriteString("scope", span.ScopeName);
        json.WriteString("scopeVersion", span.ScopeVersion);
        json.WriteString("traceState", span.TraceState);
        json.WriteNumber("flags", span.Flags & 0xFF);
        json.WriteStartArray("critical");
        foreach (PathSegment segment in critical)
        {
            json.WriteStartArray();
            json.WriteNumberValue((segment.Start - origin) / 1e3);
            json.WriteNumberValue((segment.End - origin) / 1e3);
            json.WriteEndArray();
        }

        json.WriteEndArray();
        WriteAttributes(json, "attributes", span.Attributes);
        WriteAttributes(json, "resource", span.ResourceAttributes);
        json.WriteStartArray("events");
        foreach (ReceivedSpanEvent e in span.Events)
        {
            json.WriteStartObject();
            json.WriteString("name", e.Name);
            json.WriteNumber("offsetUs", ((long)e.TimeUnixNano - origin) / 1e3);
            WriteAttributes(json, "attributes", e.Attributes);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("links");
        foreach (ReceivedSpanLink link in span.Links)
        {
            json.WriteStartObject();
            json.WriteString("traceId", link.TraceId);
            json.WriteString("spanId", link.SpanId);
            json.WriteBoolean("inStore", inStore(link.TraceId));
            WriteAttributes(json, "attributes", link.Attributes);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("logs");
        foreach (ReceivedLogRecord log in node.Logs)
        {
            WriteLog(json, log, origin);
        }

        json.WriteEndArray();
        json.WriteNumber("droppedAttributes", span.DroppedAttributesCount);
        json.WriteNumber("droppedEvents", span.DroppedEventsCount);
        json.WriteNumber("droppedLinks", span.DroppedLinksCount);
        json.WriteEndObject();
    }

    private static void WriteLog(Utf8JsonWriter json, ReceivedLogRecord log, long origin)
    {
        json.WriteStartObject();
        json.WriteString("spanId", log.SpanId);
        json.WriteNumber("offsetUs", ((long)log.TimeUnixNano - origin) / 1e3);
        json.WriteString("severity", log.SeverityText);
        json.WriteNumber("severityNumber", log.SeverityNumber);
        json.WriteString("message", LogMessage.Render(log));
        json.WriteString("eventName", log.EventName);
        json.WriteString("scope", log.ScopeName);
        WriteAttributes(json, "attributes", log.Attributes);
        json.WriteEndObject();
    }

    /// <summary>[key, text, type] triples in key order: what the detail tables show.</summary>
    private static void WriteAttributes(Utf8JsonWriter json, string name, IReadOnlyDictionary<string, object?> attributes)
    {
        json.WriteStartArray(name);
        foreach ((string key, object? value) in attributes.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            json.WriteStartArray();
            json.WriteStringValue(key);
            json.WriteStringValue(TagValue.Text(value));
            json.WriteStringValue(value switch
            {
                string => "string",
                bool => "bool",
                long or int => "int",
                double => "double",
                byte[] => "bytes",
                IReadOnlyDictionary<string, object?> => "map",
                null => "null",
                _ => "array",
            });
            json.WriteEndArray();
        }

        json.WriteEndArray();
    }
}
