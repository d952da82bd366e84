using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Model;
using TraceAgent.Viewer.Output;

namespace TraceAgent.Tests.Viewer;

/// <summary>Small traces with their own ids, for the store and the query API.</summary>
internal static class StoreTestData
{
    public const ulong Origin = 1_700_000_000_000_000_000;

    public static string TraceId(int n) => n.ToString("x32", System.Globalization.CultureInfo.InvariantCulture);

    public static string SpanId(int trace, int span) => (trace * 100 + span).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    public static ReceivedSpan Span(
        int trace,
        int span,
        int? parent,
        string service,
        string name,
        double startMs,
        double endMs,
        int kind = SpanKinds.Internal,
        bool error = false,
        IReadOnlyDictionary<string, object?>? attributes = null,
        IReadOnlyList<ReceivedSpanEvent>? events = null,
        IReadOnlyList<ReceivedSpanLink>? links = null) => new()
        {
            TraceId = TraceId(trace),
            SpanId = SpanId(trace, span),
            ParentSpanId = parent is int p ? SpanId(trace, p) : "",
            Name = name,
            Kind = kind,
            Flags = 1,
            StartTimeUnixNano = Origin + (ulong)(startMs * 1_000_000),
            EndTimeUnixNano = Origin + (ulong)(endMs * 1_000_000),
            StatusCode = error ? 2 : 0,
            StatusMessage = error ? "boom" : "",
            Attributes = attributes ?? new Dictionary<string, object?>(),
            Events = events ?? [],
            Links = links ?? [],
            ResourceAttributes = new Dictionary<string, object?> { ["service.name"] = service, ["host.name"] = "dev-box" },
            ScopeName = "TraceAgent.Test",
            ScopeVersion = "1.0",
        };

    /// <summary>frontend GET /checkout (server) -> frontend POST (client) -> orders POST /orders (server) -> orders INSERT (client, db).</summary>
    public static List<ReceivedSpan> Checkout(int trace, double durationMs = 100, bool fail = false) =>
    [
        Span(trace, 1, null, "frontend", "POST /checkout", 0, durationMs, SpanKinds.Server, fail, new Dictionary<string, object?> { ["http.route"] = "/checkout", ["http.request.method"] = "POST", ["http.response.status_code"] = fail ? 500L : 200L }),
        Span(trace, 2, 1, "frontend", "POST", 2, durationMs - 2, SpanKinds.Client, fail, new Dictionary<string, object?> { ["http.request.method"] = "POST", ["server.address"] = "127.0.0.1", ["server.port"] = 5001L }),
        Span(trace, 3, 2, "orders", "POST /orders", 4, durationMs - 4, SpanKinds.Server, fail, new Dictionary<string, object?> { ["http.route"] = "/orders", ["http.request.method"] = "POST" }),
        Span(trace, 4, 3, "orders", "INSERT orders", 6, 10, SpanKinds.Client, fail, new Dictionary<string, object?> { ["db.system.name"] = "postgresql", ["db.namespace"] = "shop", ["db.query.summary"] = "INSERT orders", ["server.address"] = "127.0.0.1", ["server.port"] = 5432L }),
    ];

    public static ReportedTrace Report(IReadOnlyList<ReceivedSpan> spans, IReadOnlyList<ReceivedLogRecord>? logs = null)
    {
        TraceTree tree = TraceTree.Build(spans[0].TraceId, spans, logs);
        return new ReportedTrace(tree, TraceAnalyzer.Analyze(tree, AnalysisContext.Default), Complete: true);
    }
}

/// <summary>A clock the test moves.</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}
