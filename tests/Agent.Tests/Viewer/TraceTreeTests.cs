using TraceAgent.Viewer.Model;

namespace TraceAgent.Tests.Viewer;

public sealed class TraceTreeTests
{
    [Fact]
    public void Spans_are_arranged_under_their_parents_in_start_order()
    {
        TraceTree tree = new TraceBuilder()
            .Span("a", null, "root", 0, 100)
            .Span("c", "a", "second", 50, 60)
            .Span("b", "a", "first", 10, 20)
            .Span("d", "b", "grandchild", 12, 18)
            .Build();

        SpanNode root = Assert.Single(tree.Roots);
        Assert.Equal(["b", "c"], root.Children.Select(c => c.SpanId));
        Assert.Equal(2, tree.Find("d")!.Depth);
        Assert.Empty(tree.Orphans);
        Assert.Equal(100_000_000, tree.DurationNanos);
    }

    [Fact]
    public void A_span_whose_parent_never_arrived_becomes_a_top_level_orphan()
    {
        TraceTree tree = new TraceBuilder()
            .Span("a", null, "root", 0, 100)
            .Span("x", "missing", "lost", 30, 40)
            .Build();

        Assert.Equal("x", Assert.Single(tree.Orphans).SpanId);
        Assert.Equal(["a", "x"], tree.TopLevel.Select(t => t.SpanId));
    }

    [Fact]
    public void The_first_copy_of_a_duplicated_span_wins_and_a_parent_cycle_is_broken()
    {
        TraceTree tree = new TraceBuilder()
            .Span("a", "b", "one", 0, 10)
            .Span("b", "a", "two", 1, 5)
            .Span("a", null, "duplicate", 0, 10)
            .Build();

        Assert.Equal(2, tree.Spans.Count);
        Assert.Equal("one", tree.Find("a")!.Span.Name);
        SpanNode top = Assert.Single(tree.TopLevel);
        Assert.Single(top.Children);
    }

    [Fact]
    public void Log_records_hang_under_the_span_they_were_written_in()
    {
        TraceTree tree = new TraceBuilder()
            .Span("a", null, "root", 0, 100)
            .Span("b", "a", "child", 10, 20)
            .Log("b", "inside the child")
            .Log("zzzz", "span never arrived")
            .Build();

        Assert.Equal("inside the child", Assert.Single(tree.Find("b")!.Logs).Body);
        Assert.Empty(tree.Find("a")!.Logs);
        Assert.Equal(2, tree.Logs.Count);
    }
}
