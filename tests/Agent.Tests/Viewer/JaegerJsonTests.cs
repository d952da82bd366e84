using System.Text.Json;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Api;
using TraceAgent.Viewer.Model;

namespace TraceAgent.Tests.Viewer;

/// <summary>The trace JSON against the shape of Jaeger's query API (its ui model and OTLP translation).</summary>
public sealed class JaegerJsonTests
{
    [Fact]
    public void A_trace_has_Jaeger_s_fields_with_microsecond_times_references_typed_tags_logs_and_processes()
    {
        List<ReceivedSpan> spans = StoreTestData.Checkout(1, fail: true);
        spans[0] = StoreTestData.Span(
            1,
            1,
            null,
            "frontend",
            "POST /checkout",
            0,
            100.5,
            SpanKinds.Server,
            error: true,
            new Dictionary<string, object?>
            {
                ["http.response.status_code"] = 500L,
                ["ratio"] = 0.5,
                ["cached"] = false,
                ["blob"] = new byte[] { 1, 2 },
                ["list"] = new object?[] { "a", 2L },
                ["huge"] = long.MaxValue,
            },
            events: [new ReceivedSpanEvent { Name = "exception", TimeUnixNano = StoreTestData.Origin + 3_000, Attributes = new Dictionary<string, object?> { ["exception.type"] = "Boom" } }],
            links: [new ReceivedSpanLink { TraceId = StoreTestData.TraceId(7), SpanId = StoreTestData.SpanId(7, 1) }]);
        TraceTree tree = TraceTree.Build(StoreTestData.TraceId(1), spans);

        using JsonDocument document = Write(json => JaegerJson.WriteEnvelope(json, data =>
        {
            data.WriteStartArray();
            JaegerJson.WriteTrace(data, tree);
            data.WriteEndArray();
        }));
        JsonElement root = document.RootElement;
        Assert.Equal(["data", "total", "limit", "offset", "errors"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("errors").ValueKind);
        JsonElement trace = Assert.Single(root.GetProperty("data").EnumerateArray());
        Assert.Equal(["traceID", "spans", "processes", "warnings"], trace.EnumerateObject().Select(p => p.Name));

        // A 128-bit id whose high half is zero is printed with 16 digits, as Jaeger prints it.
        Assert.Equal(StoreTestData.TraceId(1)[16..], trace.GetProperty("traceID").GetString());

        JsonElement[] jaegerSpans = [.. trace.GetProperty("spans").EnumerateArray()];
        Assert.Equal(4, jaegerSpans.Length);
        JsonElement server = jaegerSpans.Single(s => s.GetProperty("spanID").GetString() == StoreTestData.SpanId(1, 1));
        Assert.Equal(
            ["traceID", "spanID", "flags", "operationName", "references", "startTime", "duration", "tags", "logs", "processID", "warnings"],
            server.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, server.GetProperty("flags").GetInt32());
        Assert.Equal("POST /checkout", server.GetProperty("operationName").GetString());
        Assert.Equal((long)(StoreTestData.Origin / 1000), server.GetProperty("startTime").GetInt64());
        Assert.Equal(100_500, server.GetProperty("duration").GetInt64());

        JsonElement link = Assert.Single(server.GetProperty("references").EnumerateArray());
        Assert.Equal("FOLLOWS_FROM", link.GetProperty("refType").GetString());
        Assert.Equal(StoreTestData.SpanId(7, 1), link.GetProperty("spanID").GetString());
        JsonElement child = jaegerSpans.Single(s => s.GetProperty("spanID").GetString() == StoreTestData.SpanId(1, 2));
        JsonElement parent = child.GetProperty("references")[0];
        Assert.Equal("CHILD_OF", parent.GetProperty("refType").GetString());
        Assert.Equal(StoreTestData.SpanId(1, 1), parent.GetProperty("spanID").GetString());

        Dictionary<string, JsonElement> tags = server.GetProperty("tags").EnumerateArray().ToDictionary(t => t.GetProperty("key").GetString()!);
        Assert.All(tags.Values, t => Assert.Equal(["key", "type", "value"], t.EnumerateObject().Select(p => p.Name)));
        AssertTag(tags, "http.response.status_code", "int64", v => Assert.Equal(500, v.GetInt64()));
        AssertTag(tags, "huge", "int64", v => Assert.Equal(long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), v.GetString()));
        AssertTag(tags, "ratio", "float64", v => Assert.Equal(0.5, v.GetDouble()));
        AssertTag(tags, "cached", "bool", v => Assert.False(v.GetBoolean()));
        AssertTag(tags, "blob", "binary", v => Assert.Equal("AQI=", v.GetString()));
        AssertTag(tags, "list", "string", v => Assert.Equal("[\"a\",2]", v.GetString()));
        AssertTag(tags, "error", "bool", v => Assert.True(v.GetBoolean()));
        AssertTag(tags, "otel.status_code", "string", v => Assert.Equal("ERROR", v.GetString()));
        AssertTag(tags, "otel.status_description", "string", v => Assert.Equal("boom", v.GetString()));
        AssertTag(tags, "span.kind", "string", v => Assert.Equal("server", v.GetString()));
        AssertTag(tags, "otel.scope.name", "string", v => Assert.Equal("TraceAgent.Test", v.GetString()));

        JsonElement log = Assert.Single(server.GetProperty("logs").EnumerateArray());
        Assert.Equal((long)((StoreTestData.Origin + 3_000) / 1000), log.GetProperty("timestamp").GetInt64());
        Dictionary<string, string?> fields = log.GetProperty("fields").EnumerateArray().ToDictionary(f => f.GetProperty("key").GetString()!, f => f.GetProperty("value").GetString());
        Assert.Equal("exception", fields["event"]);
        Assert.Equal("Boom", fields["exception.type"]);

        // One process per service and resource, tags without service.name.
        JsonElement processes = trace.GetProperty("processes");
        Assert.Equal(["p1", "p2"], processes.EnumerateObject().Select(p => p.Name));
        Assert.Equal("frontend", processes.GetProperty(server.GetProperty("processID").GetString()!).GetProperty("serviceName").GetString());
        JsonElement processTag = Assert.Single(processes.GetProperty("p1").GetProperty("tags").EnumerateArray());
        Assert.Equal("host.name", processTag.GetProperty("key").GetString());
        Assert.Equal(JsonValueKind.Null, server.GetProperty("warnings").ValueKind);
    }

    [Fact]
    public void An_error_answer_has_the_envelope_with_code_and_message()
    {
        using JsonDocument document = Write(json => JaegerJson.WriteError(json, 404, "trace not found"));
        JsonElement root = document.RootElement;
        Assert.Equal(JsonValueKind.Null, root.GetProperty("data").ValueKind);
        JsonElement error = Assert.Single(root.GetProperty("errors").EnumerateArray());
        Assert.Equal(404, error.GetProperty("code").GetInt32());
        Assert.Equal("trace not found", error.GetProperty("msg").GetString());
    }

    private static void AssertTag(Dictionary<string, JsonElement> tags, string key, string type, Action<JsonElement> value)
    {
        Assert.True(tags.TryGetValue(key, out JsonElement tag), $"no tag {key}");
        Assert.Equal(type, tag.GetProperty("type").GetString());
        value(tag.GetProperty("value"));
    }

    private static JsonDocument Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
        }

        return JsonDocument.Parse(buffer.ToArray());
    }
}
