using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Model;

namespace TraceAgent.Tests.Viewer;

/// <summary>Hand-built traces: times in milliseconds from an arbitrary origin.</summary>
internal sealed class TraceBuilder
{
    public const string TraceId = "0af7651916cd43dd8448eb211c80319c";
    private const ulong Origin = 1_700_000_000_000_000_000;

    private readonly List<ReceivedSpan> _spans = [];
    private readonly List<ReceivedLogRecord> _logs = [];

    public TraceBuilder Span(
        string id,
        string? parent,
        string name,
        double startMs,
        double endMs,
        string service = "svc",
        int kind = SpanKinds.Internal,
        bool error = false,
        string statusMessage = "",
        IReadOnlyList<ReceivedSpanLink>? links = null,
        IReadOnlyList<ReceivedSpanEvent>? events = null,
        params (string Key, object? Value)[] attributes)
    {
        _spans.Add(new ReceivedSpan
        {
            TraceId = TraceId,
            SpanId = id,
            ParentSpanId = parent ?? "",
            Name = name,
            Kind = kind,
            StartTimeUnixNano = Nanos(startMs),
            EndTimeUnixNano = Nanos(endMs),
            StatusCode = error ? 2 : 0,
            StatusMessage = statusMessage,
            Attributes = attributes.ToDictionary(a => a.Key, a => a.Value),
            ResourceAttributes = new Dictionary<string, object?> { ["service.name"] = service },
            Links = links ?? [],
            Events = events ?? [],
        });
        return this;
    }

    public TraceBuilder Log(string spanId, string body, int severity = 9, params (string Key, object? Value)[] attributes)
    {
        _logs.Add(new ReceivedLogRecord
        {
            TraceId = TraceId,
            SpanId = spanId,
            Body = body,
            SeverityNumber = severity,
            SeverityText = severity >= 17 ? "Error" : "Info",
            Attributes = attributes.ToDictionary(a => a.Key, a => a.Value),
        });
        return this;
    }

    public IReadOnlyList<ReceivedSpan> Spans => _spans;

    public TraceTree Build() => TraceTree.Build(TraceId, _spans, _logs);

    public IReadOnlyList<Finding> Analyze(ITraceRule rule, AnalysisContext? context = null) =>
        [.. rule.Analyze(Build(), context ?? AnalysisContext.Default)];

    public static ulong Nanos(double ms) => Origin + (ulong)(ms * 1_000_000);

    /// <summary>A PostgreSQL client span as Npgsql and the agent describe one.</summary>
    public TraceBuilder Query(string id, string parent, string summary, double startMs, double endMs, string? text = null, bool error = false) =>
        Span(
            id,
            parent,
            summary,
            startMs,
            endMs,
            kind: SpanKinds.Client,
            error: error,
            attributes:
            [
                ("db.system.name", "postgresql"), ("db.query.summary", summary), ("db.query.text", text ?? summary),
                ("server.address", "127.0.0.1"), ("server.port", 5432L),
            ]);
}
