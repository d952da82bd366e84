using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using TraceAgent.IntegrationTests.Demo;

namespace TraceAgent.IntegrationTests.Viewer;

/// <summary>
/// The Jaeger-compatible query API on the demo's traces, read back from the viewer's file after a
/// restart. Expected answers come from the demo's JSON report, not from the API under test; every
/// answer is also decoded into types shaped like Grafana's Jaeger data source's, which reject a
/// field of the wrong JSON type as Go's decoder does.
/// </summary>
[Collection(DemoCollection.Name)]
public sealed class ViewerApiTests(DemoRun demo, DemoViewer fixture)
{
    private static readonly JsonSerializerOptions Strict = new() { NumberHandling = JsonNumberHandling.Strict };

    [Fact]
    public async Task Services_and_operations_list_what_the_demo_sent()
    {
        ViewerProcess viewer = await fixture.StartViewerAsync(demo);

        JsonElement services = await viewer.GetJsonAsync("/api/services");
        AssertEnvelope(services);
        Assert.Equal(["frontend", "orders", "payments", "worker"], services.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(4, services.GetProperty("total").GetInt32());
        Assert.Equal(["frontend", "orders", "payments", "worker"], Decode<GrafanaServices>(services).Data);

        JsonElement operations = await viewer.GetJsonAsync("/api/services/frontend/operations");
        string?[] names = [.. operations.GetProperty("data").EnumerateArray().Select(e => e.GetString())];
        Assert.Contains("POST /checkout", names);
        Assert.Contains("GET /catalog", names);
        Assert.NotNull(Decode<GrafanaServices>(operations).Data);

        JsonElement servers = await viewer.GetJsonAsync("/api/operations?service=orders&spanKind=server");
        Assert.All(servers.GetProperty("data").EnumerateArray(), o => Assert.Equal("server", o.GetProperty("spanKind").GetString()));
        Assert.Contains(servers.GetProperty("data").EnumerateArray(), o => o.GetProperty("name").GetString() == "POST /orders");
    }

    [Fact]
    public async Task The_classic_duration_query_finds_the_slow_payment_and_agrees_with_the_report()
    {
        ViewerProcess viewer = await fixture.StartViewerAsync(demo);

        // A cold first request can be slow too: the expected set is every trace with a payments span of 800 ms or more.
        string[] expectedSlow = [.. fixture.Traces.ById.Values
            .Where(t => DemoTraces.Spans(t).Any(s => s.GetProperty("serviceName").GetString() == "payments" && s.GetProperty("durationMs").GetDouble() >= 800))
            .Select(t => t.GetProperty("traceId").GetString()!).Order()];
        Assert.Contains(fixture.Traces.Slow, expectedSlow);
        JsonElement slow = await viewer.GetJsonAsync("/api/traces?service=payments&minDuration=800ms");
        AssertEnvelope(slow);
        Assert.Equal(expectedSlow, TraceIds(slow).Order());
        GrafanaTrace trace = Assert.Single(Decode<GrafanaTraces>(slow).Data, t => t.TraceID.PadLeft(32, '0') == fixture.Traces.Slow);
        Assert.Equal(fixture.Traces.ById[fixture.Traces.Slow].GetProperty("spanCount").GetInt32(), trace.Spans.Count);
        Assert.All(trace.Spans, s => Assert.True(trace.Processes.ContainsKey(s.ProcessID), $"span {s.SpanID} names process {s.ProcessID}, not in the map"));
        GrafanaSpan payment = Assert.Single(trace.Spans, s => s.OperationName == "POST /payments/bank-transfer");
        Assert.True(payment.Duration >= 900_000, $"{payment.Duration} us");
        Assert.Contains(payment.Tags, t => t.Key == "span.kind" && t.Type == "string" && ((JsonElement)t.Value!).GetString() == "server");
        Assert.Contains(payment.Tags, t => t.Key == "http.response.status_code" && t.Type == "int64");
        Assert.Equal("CHILD_OF", Assert.Single(payment.References).RefType);

        // As written in the docs: a frontend span of at least 1 s. The expected set comes from the report.
        string[] expected = [.. fixture.Traces.ById.Values
            .Where(t => DemoTraces.Spans(t).Any(s => s.GetProperty("serviceName").GetString() == "frontend" && s.GetProperty("durationMs").GetDouble() >= 1000))
            .Select(t => t.GetProperty("traceId").GetString()!).Order()];
        Assert.Equal(expected, TraceIds(await viewer.GetJsonAsync("/api/traces?service=frontend&minDuration=1s")).Order());
    }

    [Fact]
    public async Task The_error_tag_query_finds_exactly_the_traces_with_error_spans()
    {
        ViewerProcess viewer = await fixture.StartViewerAsync(demo);
        string[] expected = [.. fixture.Traces.ById.Values
            .Where(t => DemoTraces.Spans(t).Any(s => s.GetProperty("statusCode").GetInt32() == 2))
            .Select(t => t.GetProperty("traceId").GetString()!).Order()];
        Assert.Contains(fixture.Traces.Failing, expected);

        JsonElement errors = await viewer.GetJsonAsync("/api/traces?tags=" + Uri.EscapeDataString("{\"error\":\"true\"}") + "&limit=50");
        Assert.Equal(expected, TraceIds(errors).Order());
        Assert.Equal([fixture.Traces.Failing], TraceIds(await viewer.GetJsonAsync("/api/traces?service=frontend&operation=POST%20%2Fcheckout&tag=error:true")));
        Decode<GrafanaTraces>(errors);
    }

    [Fact]
    public async Task One_trace_by_id_holds_every_span_and_unknown_or_bad_ids_get_Jaeger_s_errors()
    {
        ViewerProcess viewer = await fixture.StartViewerAsync(demo);
        JsonElement report = fixture.Traces.ById[fixture.Traces.Failing];

        JsonElement answer = await viewer.GetJsonAsync($"/api/traces/{fixture.Traces.Failing}");
        AssertEnvelope(answer);
        JsonElement trace = Assert.Single(answer.GetProperty("data").EnumerateArray());
        Assert.Equal(
            DemoTraces.Spans(report).Select(s => s.GetProperty("spanId").GetString()).Order(),
            trace.GetProperty("spans").EnumerateArray().Select(s => s.GetProperty("spanID").GetString()).Order());
        Decode<GrafanaTraces>(answer);

        using HttpResponseMessage missing = await viewer.Http.GetAsync("/api/traces/00000000000000000000000000abcdef");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        JsonElement error = JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(404, error.GetProperty("errors")[0].GetProperty("code").GetInt32());
        Assert.Equal("trace not found", error.GetProperty("errors")[0].GetProperty("msg").GetString());

        using HttpResponseMessage bad = await viewer.Http.GetAsync("/api/traces?minDuration=soon");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("unable to parse param 'minDuration'", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dependencies_count_the_calls_between_services()
    {
        ViewerProcess viewer = await fixture.StartViewerAsync(demo);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        JsonElement answer = await viewer.GetJsonAsync($"/api/dependencies?endTs={now}&lookback=3600000");
        AssertEnvelope(answer);
        GrafanaDependencies decoded = Decode<GrafanaDependencies>(answer);

        // Expected from the report: every span whose parent is in another service is one call.
        var expected = new Dictionary<(string, string), int>();
        foreach (JsonElement trace in fixture.Traces.ById.Values)
        {
            var service = DemoTraces.Spans(trace).ToDictionary(s => s.GetProperty("spanId").GetString()!, s => s.GetProperty("serviceName").GetString()!);
            foreach (JsonElement span in DemoTraces.Spans(trace))
            {
                if (service.TryGetValue(span.GetProperty("parentSpanId").GetString()!, out string? parent) && parent != span.GetProperty("serviceName").GetString())
                {
                    (string, string) key = (parent, span.GetProperty("serviceName").GetString()!);
                    expected[key] = expected.GetValueOrDefault(key) + 1;
                }
            }
        }

        Assert.Contains(("frontend", "orders"), expected.Keys);
        Assert.Contains(("orders", "worker"), expected.Keys);
        Assert.Contains(("worker", "payments"), expected.Keys);
        Assert.Equal(
            expected.OrderBy(e => e.Key).Select(e => $"{e.Key.Item1}->{e.Key.Item2}:{e.Value}"),
            decoded.Data.OrderBy(d => (d.Parent, d.Child)).Select(d => $"{d.Parent}->{d.Child}:{d.CallCount}"));
    }

    private static void AssertEnvelope(JsonElement answer)
    {
        Assert.Equal(["data", "total", "limit", "offset", "errors"], answer.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("errors").ValueKind);
    }

    private static IEnumerable<string> TraceIds(JsonElement answer) =>
        answer.GetProperty("data").EnumerateArray().Select(t => t.GetProperty("traceID").GetString()!.PadLeft(32, '0'));

    private static T Decode<T>(JsonElement answer) => answer.Deserialize<T>(Strict) ?? throw new InvalidOperationException("null");

    // Shaped like the Go types Grafana's Jaeger data source decodes the API into (field names and JSON types).
    private sealed record GrafanaServices([property: JsonPropertyName("data")] List<string> Data, [property: JsonPropertyName("total")] int Total, [property: JsonPropertyName("limit")] int Limit, [property: JsonPropertyName("offset")] int Offset);

    private sealed record GrafanaTraces([property: JsonPropertyName("data")] List<GrafanaTrace> Data, [property: JsonPropertyName("total")] int Total, [property: JsonPropertyName("limit")] int Limit, [property: JsonPropertyName("offset")] int Offset);

    private sealed record GrafanaTrace(
        [property: JsonPropertyName("traceID")] string TraceID,
        [property: JsonPropertyName("spans")] List<GrafanaSpan> Spans,
        [property: JsonPropertyName("processes")] Dictionary<string, GrafanaProcess> Processes,
        [property: JsonPropertyName("warnings")] List<string>? Warnings);

    private sealed record GrafanaSpan(
        [property: JsonPropertyName("traceID")] string TraceID,
        [property: JsonPropertyName("spanID")] string SpanID,
        [property: JsonPropertyName("processID")] string ProcessID,
        [property: JsonPropertyName("operationName")] string OperationName,
        [property: JsonPropertyName("startTime")] long StartTime,
        [property: JsonPropertyName("duration")] long Duration,
        [property: JsonPropertyName("logs")] List<GrafanaLog> Logs,
        [property: JsonPropertyName("references")] List<GrafanaReference> References,
        [property: JsonPropertyName("tags")] List<GrafanaKeyValue> Tags,
        [property: JsonPropertyName("warnings")] List<string>? Warnings,
        [property: JsonPropertyName("flags")] int Flags);

    private sealed record GrafanaReference([property: JsonPropertyName("refType")] string RefType, [property: JsonPropertyName("spanID")] string SpanID, [property: JsonPropertyName("traceID")] string TraceID);

    private sealed record GrafanaLog([property: JsonPropertyName("timestamp")] long Timestamp, [property: JsonPropertyName("fields")] List<GrafanaKeyValue> Fields);

    private sealed record GrafanaKeyValue([property: JsonPropertyName("key")] string Key, [property: JsonPropertyName("type")] string Type, [property: JsonPropertyName("value")] object? Value);

    private sealed record GrafanaProcess([property: JsonPropertyName("serviceName")] string ServiceName, [property: JsonPropertyName("tags")] List<GrafanaKeyValue> Tags);

    private sealed record GrafanaDependencies([property: JsonPropertyName("data")] List<GrafanaDependency> Data);

    private sealed record GrafanaDependency([property: JsonPropertyName("parent")] string Parent, [property: JsonPropertyName("child")] string Child, [property: JsonPropertyName("callCount")] int CallCount);
}
