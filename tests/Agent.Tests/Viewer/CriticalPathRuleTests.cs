using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Model;

namespace TraceAgent.Tests.Viewer;

public sealed class CriticalPathRuleTests
{
    [Fact]
    public void Sequential_children_are_all_on_the_path()
    {
        CriticalPath path = CriticalPath.Compute(new TraceBuilder()
            .Span("p", null, "parent", 0, 100)
            .Span("a", "p", "first", 10, 40)
            .Span("b", "p", "second", 50, 90)
            .Build());

        Assert.Equal(["p", "a", "b"], path.Spans.Select(s => s.SpanId));
        Assert.Equal(100_000_000, path.TotalNanos);
        Assert.Equal(30_000_000, path.ContributionOf(path.Spans[0]));
        Assert.Equal(0, path.WaitingNanos);
    }

    [Fact]
    public void Of_parallel_children_only_the_one_that_finishes_last_is_on_the_path()
    {
        CriticalPath path = CriticalPath.Compute(new TraceBuilder()
            .Span("p", null, "parent", 0, 100)
            .Span("fast", "p", "fast", 10, 30)
            .Span("slow", "p", "slow", 10, 95)
            .Build());

        Assert.Contains(path.Spans, s => s.SpanId == "slow");
        Assert.DoesNotContain(path.Spans, s => s.SpanId == "fast");
    }

    [Fact]
    public void An_async_consumer_that_ends_after_its_parent_extends_the_path_and_the_hand_off_counts_as_waiting()
    {
        // frontend -> orders -> producer; the consumer starts after everything above has ended.
        TraceBuilder trace = new TraceBuilder()
            .Span("web", null, "POST /checkout", 0, 50, service: "frontend", kind: SpanKinds.Server)
            .Span("orders", "web", "POST /orders", 5, 45, service: "orders", kind: SpanKinds.Server)
            .Span("send", "orders", "send order.created", 30, 35, service: "orders", kind: SpanKinds.Producer)
            .Span("process", "send", "process order.created", 80, 1100, service: "worker", kind: SpanKinds.Consumer)
            .Span("pay", "process", "POST /payments", 90, 1090, service: "payments", kind: SpanKinds.Server);

        CriticalPath path = CriticalPath.Compute(trace.Build());

        Assert.Equal(["web", "orders", "send", "process", "pay"], path.Spans.Select(s => s.SpanId));
        Assert.Equal(1_100_000_000, path.TotalNanos);
        Assert.Equal(45_000_000, path.WaitingNanos);
        Finding finding = Assert.Single(trace.Analyze(new CriticalPathRule()));
        Assert.Equal("pay", finding.Details["heaviestSpanId"]);
        Assert.Contains("payments POST /payments", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_path_covers_the_trace_from_first_start_to_last_end_without_overlaps()
    {
        CriticalPath path = CriticalPath.Compute(new TraceBuilder()
            .Span("p", null, "parent", 0, 200)
            .Span("a", "p", "a", 10, 120)
            .Span("b", "p", "b", 20, 150)
            .Span("c", "b", "c", 30, 140)
            .Span("d", "p", "d", 160, 190)
            .Build());

        for (int i = 1; i < path.Segments.Count; i++)
        {
            Assert.Equal(path.Segments[i - 1].End, path.Segments[i].Start);
        }

        Assert.Equal(path.TotalNanos, path.Segments.Sum(s => s.Nanos));
        // a ran alone (before b started) in [10, 20], so it carries the path there.
        Assert.Equal(["p", "a", "b", "c", "d"], path.Spans.Select(s => s.SpanId));
    }

    [Fact]
    public void Slowest_spans_are_ranked_by_self_time_not_duration()
    {
        IReadOnlyList<Finding> findings = new TraceBuilder()
            .Span("p", null, "parent", 0, 1000)
            .Span("a", "p", "busy child", 0, 990)
            .Span("b", "a", "grandchild", 0, 300)
            .Analyze(new SlowestSpansRule());

        Assert.Equal(["a", "b", "p"], findings.Select(f => f.SpanIds[0]));
        Assert.Equal("690", findings[0].Details["selfMs"]);
        Assert.Equal("true", findings[0].Details["onCriticalPath"]);
    }
}
