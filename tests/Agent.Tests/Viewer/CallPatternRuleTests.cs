using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;

namespace TraceAgent.Tests.Viewer;

public sealed class CallPatternRuleTests
{
    [Fact]
    public void The_same_query_repeated_under_one_parent_is_an_n_plus_one_naming_the_query()
    {
        var trace = new TraceBuilder()
            .Span("root", null, "GET /catalog", 0, 100, kind: SpanKinds.Server)
            .Query("ids", "root", "SELECT products", 1, 2, "SELECT id FROM products");
        for (int i = 0; i < 6; i++)
        {
            trace.Query($"q{i}", "root", "SELECT products", 10 + (i * 10), 15 + (i * 10), "SELECT * FROM products WHERE id = $1");
        }

        Finding finding = Assert.Single(trace.Analyze(new NPlusOneRule()));
        Assert.Equal("SELECT products", finding.Details["operation"]);
        Assert.Equal("6", finding.Details["count"]);
        Assert.Equal("SELECT * FROM products WHERE id = $1", finding.Details["queryText"]);
        Assert.Equal("root", finding.SpanIds[0]);
        Assert.Contains("SELECT products ran 6 times", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Queries_differing_only_in_inlined_values_are_grouped_by_their_summary()
    {
        var trace = new TraceBuilder().Span("root", null, "job", 0, 100);
        for (int i = 0; i < 5; i++)
        {
            trace.Query($"q{i}", "root", "SELECT orders", i * 10, (i * 10) + 5, $"SELECT * FROM orders WHERE id = {i}");
        }

        Finding finding = Assert.Single(trace.Analyze(new NPlusOneRule()));
        Assert.Equal("SELECT orders", finding.Details["operation"]);
        Assert.Equal("5", finding.Details["count"]);
    }

    [Fact]
    public void Fewer_repeats_than_the_threshold_or_repeats_under_different_parents_are_not_n_plus_one()
    {
        var trace = new TraceBuilder()
            .Span("root", null, "job", 0, 100)
            .Span("p1", "root", "step 1", 0, 50)
            .Span("p2", "root", "step 2", 50, 100);
        for (int i = 0; i < 4; i++)
        {
            trace.Query($"a{i}", "p1", "SELECT t", i, i + 1);
            trace.Query($"b{i}", "p2", "SELECT t", 50 + i, 51 + i);
        }

        Assert.Empty(trace.Analyze(new NPlusOneRule()));
        Assert.Single(trace.Analyze(new NPlusOneRule(), new AnalysisContext { NPlusOneThreshold = 3 }), f => f.SpanIds[0] == "p1");
    }

    [Fact]
    public void Repeated_http_calls_to_one_route_are_an_n_plus_one_too()
    {
        var trace = new TraceBuilder().Span("root", null, "job", 0, 100, kind: SpanKinds.Server);
        for (int i = 0; i < 5; i++)
        {
            trace.Span($"c{i}", "root", "GET", i * 10, (i * 10) + 5, kind: SpanKinds.Client, attributes: [("url.template", "/users/{id}"), ("server.address", "users"), ("server.port", 80L)]);
        }

        Finding finding = Assert.Single(trace.Analyze(new NPlusOneRule()));
        Assert.Equal("GET /users/{id}", finding.Details["operation"]);
    }

    [Fact]
    public void Many_different_children_are_a_fan_out_but_one_repeated_query_is_left_to_the_n_plus_one_rule()
    {
        var fanOut = new TraceBuilder().Span("root", null, "aggregate", 0, 100);
        for (int i = 0; i < 10; i++)
        {
            fanOut.Span($"c{i}", "root", $"GET /service{i}", 5, 50, kind: SpanKinds.Client);
        }

        Finding finding = Assert.Single(fanOut.Analyze(new FanOutRule()));
        Assert.Equal("10", finding.Details["children"]);
        Assert.Equal("false", finding.Details["sequential"]);

        var repeated = new TraceBuilder().Span("root", null, "GET /catalog", 0, 100);
        for (int i = 0; i < 10; i++)
        {
            repeated.Query($"q{i}", "root", "SELECT products", i * 10, (i * 10) + 5);
        }

        Assert.Empty(repeated.Analyze(new FanOutRule()));
    }

    [Fact]
    public void Spans_whose_parent_never_arrived_are_a_trace_gap_naming_the_missing_parent()
    {
        IReadOnlyList<Finding> findings = new TraceBuilder()
            .Span("root", null, "POST /checkout", 0, 100, service: "frontend")
            .Span("x", "ffff000011112222", "POST /payments", 50, 60, service: "payments")
            .Span("y", "ffff000011112222", "POST /refunds", 61, 70, service: "payments")
            .Analyze(new TraceGapRule());

        Finding gap = Assert.Single(findings);
        Assert.Equal("ffff000011112222", gap.Details["missingParentSpanId"]);
        Assert.Equal(["x", "y"], gap.SpanIds);
    }

    [Fact]
    public void A_client_call_without_a_server_span_names_the_address_that_sent_nothing()
    {
        IReadOnlyList<Finding> findings = new TraceBuilder()
            .Span("root", null, "POST /checkout", 0, 100, service: "frontend", kind: SpanKinds.Server)
            .Span("traced", "root", "POST", 5, 20, service: "frontend", kind: SpanKinds.Client, attributes: [("server.address", "orders"), ("server.port", 8080L)])
            .Span("server", "traced", "POST /orders", 6, 19, service: "orders", kind: SpanKinds.Server)
            .Span("dark", "root", "GET", 30, 40, service: "frontend", kind: SpanKinds.Client, attributes: [("server.address", "inventory.internal"), ("server.port", 9000L)])
            .Query("db", "root", "SELECT t", 50, 60)
            .Analyze(new UntracedServiceRule());

        Finding finding = Assert.Single(findings);
        Assert.Equal("dark", finding.SpanIds[0]);
        Assert.Equal("inventory.internal:9000", finding.Details["target"]);
    }

    [Fact]
    public void A_produced_message_nobody_consumed_names_its_destination_unless_a_consumer_continues_or_links_to_it()
    {
        var trace = new TraceBuilder()
            .Span("root", null, "POST /orders", 0, 100, kind: SpanKinds.Server)
            .Span("sent", "root", "send order.created", 10, 20, kind: SpanKinds.Producer, attributes: [("messaging.system", "kafka"), ("messaging.destination.name", "order.created")])
            .Span("consumed", "root", "send audit", 20, 30, kind: SpanKinds.Producer, attributes: [("messaging.system", "kafka"), ("messaging.destination.name", "audit")])
            .Span("c", "consumed", "process audit", 40, 50, service: "auditor", kind: SpanKinds.Consumer)
            .Span("linked", "root", "send mail", 30, 40, kind: SpanKinds.Producer, attributes: [("messaging.system", "kafka"), ("messaging.destination.name", "mail")]);

        IReadOnlyList<Finding> findings = trace.Analyze(
            new UntracedServiceRule(),
            new AnalysisContext { IsLinkedFromElsewhere = id => id == "linked" });

        Finding finding = Assert.Single(findings);
        Assert.Equal("sent", finding.SpanIds[0]);
        Assert.Equal("order.created", finding.Details["target"]);
        Assert.Equal("producer", finding.Details["kind"]);
    }
}
