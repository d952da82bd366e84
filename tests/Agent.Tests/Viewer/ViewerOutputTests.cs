using System.Text;
using System.Text.Json;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Model;
using TraceAgent.Viewer.Output;
using TraceAgent.Viewer.Storage;

namespace TraceAgent.Tests.Viewer;

public sealed class ViewerOutputTests
{
    private static TraceBuilder FailingOrder() => new TraceBuilder()
        .Span("web", null, "POST /checkout", 0, 100, service: "frontend", kind: SpanKinds.Server, error: true, attributes: [("http.route", "/checkout"), ("http.response.status_code", 502L)])
        .Span("call", "web", "POST", 5, 90, service: "frontend", kind: SpanKinds.Client, error: true, attributes: [("server.address", "127.0.0.1"), ("server.port", 5001L)])
        .Span("orders", "call", "POST /orders", 10, 85, service: "orders", kind: SpanKinds.Server, error: true)
        .Query("insert", "orders", "INSERT orders", 20, 30, error: true)
        .Log("orders", "order {OrderId} failed", 17, ("OrderId", 42L));

    [Fact]
    public void The_tree_marks_errors_and_their_origin_and_lists_the_findings_without_colour_when_asked()
    {
        TraceTree tree = FailingOrder().Build();
        var output = new StringWriter();
        new TreePrinter(output, color: false).Print(tree, TraceAnalyzer.Analyze(tree, AnalysisContext.Default));
        string text = output.ToString();

        Assert.DoesNotContain("\u001b[", text, StringComparison.Ordinal);
        Assert.Contains("✗ frontend POST /checkout (server)", text, StringComparison.Ordinal);
        Assert.Contains("└─ ✗ orders POST /orders (server)", text, StringComparison.Ordinal);
        Assert.Contains("→ 127.0.0.1:5001", text, StringComparison.Ordinal);
        Assert.Contains("status=502", text, StringComparison.Ordinal);
        Assert.DoesNotContain("route=/checkout", text, StringComparison.Ordinal);
        Assert.Contains("error starts here", text, StringComparison.Ordinal);
        Assert.Contains("▪ Error: order 42 failed", text, StringComparison.Ordinal);
        Assert.Contains("error origin", text, StringComparison.Ordinal);
        Assert.Contains("critical path", text, StringComparison.Ordinal);

        var colored = new StringWriter();
        new TreePrinter(colored, color: true).Print(tree, []);
        Assert.Contains("\u001b[31;1m✗ \u001b[0m", colored.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_json_report_holds_every_span_field_the_logs_and_the_findings()
    {
        TraceTree tree = FailingOrder().Build();
        var stream = new MemoryStream();
        JsonReport.Write(stream, [new ReportedTrace(tree, TraceAnalyzer.Analyze(tree, AnalysisContext.Default), Complete: true)]);

        using JsonDocument json = JsonDocument.Parse(stream.ToArray());
        JsonElement trace = json.RootElement.GetProperty("traces")[0];
        Assert.Equal(TraceBuilder.TraceId, trace.GetProperty("traceId").GetString());
        Assert.Equal("frontend POST /checkout", trace.GetProperty("name").GetString());
        Assert.Equal(4, trace.GetProperty("spans").GetArrayLength());
        JsonElement insert = trace.GetProperty("spans").EnumerateArray().Single(s => s.GetProperty("spanId").GetString() == "insert");
        Assert.Equal("orders", insert.GetProperty("parentSpanId").GetString());
        Assert.Equal(2, insert.GetProperty("statusCode").GetInt32());
        Assert.Equal(3, insert.GetProperty("kind").GetInt32());
        Assert.Equal(5432, insert.GetProperty("attributes").GetProperty("server.port").GetInt64());
        Assert.Equal("svc", insert.GetProperty("resourceAttributes").GetProperty("service.name").GetString());
        Assert.Equal(TraceBuilder.Nanos(20), insert.GetProperty("startTimeUnixNano").GetUInt64());
        Assert.Equal(42, trace.GetProperty("logs")[0].GetProperty("attributes").GetProperty("OrderId").GetInt64());
        JsonElement origin = trace.GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("rule").GetString() == "error-origin");
        Assert.Equal("insert", origin.GetProperty("spanIds")[0].GetString());
        Assert.Equal("error", origin.GetProperty("severity").GetString());
        Assert.Contains("web", trace.GetProperty("criticalPath").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Log_templates_are_filled_from_the_attributes()
    {
        var log = new ReceivedLogRecord
        {
            Body = "payment for order {OrderId} approved ({Method}, {Amount:0.00}) {{literal}} {Missing}",
            Attributes = new Dictionary<string, object?> { ["OrderId"] = 7L, ["Method"] = "card", ["Amount"] = 9.5 },
        };

        Assert.Equal("payment for order 7 approved (card, 9.5) {literal} {Missing}", LogMessage.Render(log));
    }

    [Fact]
    public void A_trace_is_finished_only_after_the_quiet_period_and_reopened_by_a_late_span()
    {
        long now = 0;
        var finished = new List<(ReportedTrace Trace, int Late)>();
        using TraceStore store = TraceStore.Open(new StoreOptions());
        var collector = new TraceCollector(
            TimeSpan.FromSeconds(1),
            AnalysisContext.Default,
            store,
            (trace, late) => finished.Add((trace, late)),
            () => now);
        TraceBuilder trace = new TraceBuilder()
            .Span("web", null, "POST /checkout", 0, 100, kind: SpanKinds.Server)
            .Span("send", "web", "send", 10, 20, kind: SpanKinds.Producer, attributes: [("messaging.system", "kafka"), ("messaging.destination.name", "t")]);

        collector.AddSpans(trace.Spans);
        now += System.Diagnostics.Stopwatch.Frequency / 2;
        collector.FinishQuiet();
        Assert.Empty(finished);

        now += System.Diagnostics.Stopwatch.Frequency;
        collector.FinishQuiet();
        (ReportedTrace first, int late) = Assert.Single(finished);
        Assert.Equal(0, late);
        Assert.Equal(2, first.Tree.Spans.Count);
        Assert.Contains(first.Findings, f => f.Rule == UntracedServiceRule.Id);

        var consumer = new TraceBuilder().Span("proc", "send", "process", 200, 300, service: "worker", kind: SpanKinds.Consumer);
        collector.AddSpans(consumer.Spans);
        now += 2 * System.Diagnostics.Stopwatch.Frequency;
        collector.FinishQuiet();

        Assert.Equal(2, finished.Count);
        Assert.Equal(1, finished[1].Late);
        Assert.Equal(3, finished[1].Trace.Tree.Spans.Count);
        Assert.DoesNotContain(finished[1].Trace.Findings, f => f.Rule == UntracedServiceRule.Id);
        Assert.Equal(1, collector.FinishedCount);
        // The store holds the trace once, with the late span.
        Assert.Equal(3, Assert.Single(store.InStoredOrder()).Tree.Spans.Count);
    }

    [Fact]
    public void Options_parse_and_reject_bad_values()
    {
        ViewerOptions options = ViewerOptions.Parse(["--http-port", "0", "--grpc-port", "0", "--quiet-ms", "250", "--json", "x.json", "--exit-after-traces", "3", "--no-color"]);
        Assert.Equal(0, options.HttpPort);
        Assert.Equal(250, options.QuietMs);
        Assert.Equal("x.json", options.JsonPath);
        Assert.Equal(3, options.ExitAfterTraces);
        Assert.False(options.Color);

        ViewerOptions defaults = ViewerOptions.Parse([]);
        Assert.Equal((4318, 4317, 1500, 5), (defaults.HttpPort, defaults.GrpcPort, defaults.QuietMs, defaults.NPlusOneThreshold));

        Assert.Throws<ArgumentException>(() => ViewerOptions.Parse(["--quiet-ms", "soon"]));
        Assert.Throws<ArgumentException>(() => ViewerOptions.Parse(["--http-port"]));
        Assert.Throws<ArgumentException>(() => ViewerOptions.Parse(["--frobnicate"]));
        Assert.Throws<ArgumentException>(() => ViewerOptions.Parse(["--http-port", "5000", "--grpc-port", "5000"]));

        ViewerOptions store = ViewerOptions.Parse(["--ui-port", "0", "--db", "t.db", "--max-traces", "50", "--max-age", "12h"]);
        Assert.Equal((0, "t.db", 50, TimeSpan.FromHours(12)), (store.UiPort, store.DatabasePath, store.MaxTraces, store.MaxAge));
        Assert.Equal(16686, defaults.UiPort);
        Assert.EndsWith(Path.Combine("traceagent", "traces.db"), defaults.DatabasePath, StringComparison.Ordinal);
        Assert.Equal((10_000, TimeSpan.FromDays(7)), (defaults.MaxTraces, defaults.MaxAge));
        Assert.Null(ViewerOptions.Parse(["--memory"]).DatabasePath);
        Assert.Equal(TimeSpan.FromDays(2), ViewerOptions.Parse(["--max-age", "2d"]).MaxAge);
        Assert.Contains("--max-age", Assert.Throws<ArgumentException>(() => ViewerOptions.Parse(["--max-age", "forever"])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ViewerOptions.Parse(["--max-traces", "0"]));
        Assert.Throws<ArgumentException>(() => ViewerOptions.Parse(["--ui-port", "4318"]));
    }

    [Fact]
    public void Analysis_of_odd_data_does_not_throw()
    {
        TraceTree empty = TraceTree.Build("t", []);
        Assert.Empty(TraceAnalyzer.Analyze(empty, AnalysisContext.Default));

        TraceTree backwards = new TraceBuilder().Span("a", null, "clock went back", 100, 50).Span("b", "a", "child before parent", 0, 10).Build();
        IReadOnlyList<Finding> findings = TraceAnalyzer.Analyze(backwards, AnalysisContext.Default);
        Assert.DoesNotContain(findings, f => f.Rule == "analysis-failed");
        var output = new StringWriter(new StringBuilder());
        new TreePrinter(output, color: false).Print(backwards, findings);
        Assert.Contains("clock went back", output.ToString(), StringComparison.Ordinal);
    }
}
