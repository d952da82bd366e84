using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;

namespace TraceAgent.Tests.Viewer;

public sealed class ErrorOriginRuleTests
{
    [Fact]
    public void The_deepest_error_is_the_origin_and_the_chain_above_it_is_named()
    {
        var exception = new ReceivedSpanEvent
        {
            Name = "exception",
            Attributes = new Dictionary<string, object?>
            {
                ["exception.type"] = "Npgsql.PostgresException",
                ["exception.message"] = "23514: new row violates check constraint\n\nDETAIL: redacted",
            },
        };
        IReadOnlyList<Finding> findings = new TraceBuilder()
            .Span("web", null, "POST /checkout", 0, 100, service: "frontend", kind: SpanKinds.Server, error: true)
            .Span("call", "web", "POST", 5, 90, service: "frontend", kind: SpanKinds.Client, error: true)
            .Span("orders", "call", "POST /orders", 10, 85, service: "orders", kind: SpanKinds.Server, error: true)
            .Span("cache", "orders", "GET", 12, 13, service: "orders", kind: SpanKinds.Client)
            .Span("insert", "orders", "INSERT orders", 20, 30, service: "orders", kind: SpanKinds.Client, error: true, statusMessage: "23514", events: [exception])
            .Analyze(new ErrorOriginRule());

        Finding origin = Assert.Single(findings);
        Assert.Equal(FindingSeverity.Error, origin.Severity);
        Assert.Equal(["insert", "orders", "call", "web"], origin.SpanIds);
        Assert.Equal("orders", origin.Details["service"]);
        Assert.Equal("PostgresException: 23514: new row violates check constraint", origin.Details["reason"]);
        Assert.Equal("frontend POST /checkout", origin.Details["outermost"]);
    }

    [Fact]
    public void Independent_errors_each_have_their_own_origin_and_ok_spans_are_not_reported()
    {
        IReadOnlyList<Finding> findings = new TraceBuilder()
            .Span("root", null, "job", 0, 100)
            .Span("a", "root", "call a", 10, 20, kind: SpanKinds.Client, error: true)
            .Span("b", "root", "call b", 30, 40, kind: SpanKinds.Client, error: true)
            .Span("c", "root", "call c", 50, 60, kind: SpanKinds.Client)
            .Analyze(new ErrorOriginRule());

        Assert.Equal(["a", "b"], findings.Select(f => f.SpanIds[0]).Order());
        Assert.All(findings, f => Assert.Single(f.SpanIds));
    }

    [Fact]
    public void An_error_below_an_ok_span_still_explains_the_error_above_it()
    {
        IReadOnlyList<Finding> findings = new TraceBuilder()
            .Span("root", null, "request", 0, 100, error: true)
            .Span("mid", "root", "handler", 10, 90)
            .Span("leaf", "mid", "query", 20, 30, error: true)
            .Analyze(new ErrorOriginRule());

        Finding origin = Assert.Single(findings);
        Assert.Equal(["leaf", "root"], origin.SpanIds);
    }
}
