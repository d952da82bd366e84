using System.Globalization;
using System.Net;
using OpenTelemetry.Proto.Metrics.V1;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;
using static TraceAgent.IntegrationTests.Metrics.MetricPoints;

namespace TraceAgent.IntegrationTests.Metrics;

/// <summary>
/// Metrics with no code change, as an OTLP receiver sees them from a real app under the agent:
/// the framework's meters, the app's own, the runtime's, and the agent's health, decoded with the
/// classes generated from the official opentelemetry-proto files.
/// </summary>
public sealed class MetricsTests
{
    private const string App = "TestApplication.Metrics-net10";
    private const string OrdersRoute = "/orders/{id:int}";
    private const string ServerDuration = "http.server.request.duration";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The boundaries the semantic conventions advise (and ASP.NET Core and HttpClient pass as advice on .NET 9+).</summary>
    private static readonly double[] SecondsBounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    internal static Dictionary<string, string?> Environment(OtlpReceiver receiver, string service, params (string Key, string? Value)[] settings) =>
        AgentEnvironment.For(receiver, service).With(
            ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
            ("OTEL_DOTNET_AUTO_METRICS_ADDITIONAL_SOURCES", "TestApp.*")).With(settings);

    internal static async Task GetAsync(string url, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.GetAsync(url);
        Assert.Equal(expected, response.StatusCode);
    }

    private static bool Orders(HistogramDataPoint p) => Route(p) == OrdersRoute && Status(p) == 200;

    private static bool Failures(HistogramDataPoint p) => Route(p) == "/fail" && Status(p) == 500;

    [Fact]
    public async Task Server_request_durations_count_every_request_per_route_with_buckets_that_add_up_and_exemplars_of_exported_spans()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, Environment(receiver, "metrics-http"));
        for (var i = 1; i <= 5; i++)
        {
            await GetAsync(app.BaseUrl + "/orders/" + i.ToString(CultureInfo.InvariantCulture));
        }

        await GetAsync(app.BaseUrl + "/fail", HttpStatusCode.InternalServerError);
        await GetAsync(app.BaseUrl + "/fail", HttpStatusCode.InternalServerError);

        var metrics = await receiver.WaitForMetricsAsync(
            all => all.LatestCount(ServerDuration, Orders) == 5 && all.LatestCount(ServerDuration, Failures) == 2 && all.LatestInt("shop.orders", _ => true) == 5,
            Timeout);

        // Counts match the requests made, per route and status; buckets add up; cumulative by default.
        var received = metrics.Named(ServerDuration, "metrics-http");
        Assert.All(received, m => Assert.Equal(AggregationTemporality.Cumulative, m.Metric.Histogram.AggregationTemporality));
        Assert.All(received, m => Assert.Equal("Microsoft.AspNetCore.Hosting", m.ScopeName));
        Assert.All(received, m => Assert.Equal("s", m.Metric.Unit));
        foreach (var point in received.SelectMany(m => m.Metric.Histogram.DataPoints))
        {
            Assert.Equal(point.Count, point.BucketCounts.Aggregate(0UL, (a, b) => a + b));
            Assert.Equal(point.ExplicitBounds.Count + 1, point.BucketCounts.Count);
            Assert.Equal(SecondsBounds, point.ExplicitBounds);
            Assert.True(point.Min <= point.Max && point.Sum >= point.Min * point.Count, Describe([point]));
            Assert.True(point.StartTimeUnixNano > 0 && point.TimeUnixNano > point.StartTimeUnixNano);
        }

        var failure = Assert.Single(metrics.LatestHistogram(ServerDuration, Failures));
        Assert.Equal("System.InvalidOperationException", failure.Attributes.Attribute("error.type"));
        Assert.Equal("GET", failure.Attributes.Attribute("http.request.method"));

        // Exemplars: each one leads to a server span the agent exported, with that span's ids.
        var spans = await receiver.WaitForSpansAsync(all => all.Count(s => s.Kind == SpanKinds.Server && (s.Attribute("http.route") as string) == OrdersRoute) == 5, Timeout);
        var exemplars = received.SelectMany(m => m.Metric.Histogram.DataPoints).Where(Orders).SelectMany(p => p.Exemplars).ToList();
        Assert.NotEmpty(exemplars);
        foreach (var exemplar in exemplars)
        {
            var span = Assert.Single(spans, s => s.TraceId == exemplar.TraceId.Hex() && s.SpanId == exemplar.SpanId.Hex());
            Assert.Equal(SpanKinds.Server, span.Kind);
            Assert.Equal(OrdersRoute, span.Attribute("http.route"));
            // ASP.NET Core times the request from before the span starts (its own timestamp, then
            // the listeners' start callbacks, JIT-compiled on a process's first request) to just
            // before the span stops: the value may exceed the span's duration by that start path.
            Assert.InRange(exemplar.AsDouble, 0, span.Duration.TotalSeconds + 0.02);
        }

        // The app's own meters (OTEL_DOTNET_AUTO_METRICS_ADDITIONAL_SOURCES=TestApp.*), not the others.
        var orders = Assert.Single(metrics.LatestSum("shop.orders", _ => true));
        Assert.Equal("eu", orders.Attributes.Attribute("shop.region"));
        var ordersMetric = metrics.Named("shop.orders").Last();
        Assert.True(ordersMetric.Metric.Sum.IsMonotonic);
        Assert.Equal("TestApp.Shop", ordersMetric.ScopeName);
        Assert.Equal("1.0", ordersMetric.ScopeVersion);
        Assert.Equal("{order}", ordersMetric.Metric.Unit);
        var amounts = Assert.Single(metrics.LatestHistogram("shop.order.amount", _ => true));
        Assert.Equal(5UL, amounts.Count);
        Assert.Equal(15.0, amounts.Sum);
        Assert.Equal([0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000], amounts.ExplicitBounds);
        Assert.Equal(1.0, amounts.Min);
        Assert.Equal(5.0, amounts.Max);
        var stock = metrics.Named("inventory.stock").Last();
        Assert.Equal(15, Assert.Single(stock.Metric.Gauge.DataPoints).AsInt);
        Assert.DoesNotContain(metrics, m => m.ScopeName == "Other.Hidden");

        // Kestrel's and the runtime's meters come along; the agent's own exports are not the app's HttpClient calls.
        Assert.Contains(metrics, m => m.ScopeName == "Microsoft.AspNetCore.Server.Kestrel" && m.Name == "kestrel.connection.duration");
        Assert.Contains(metrics, m => m.ScopeName == "System.Runtime" && m.Name == "dotnet.gc.collections");
        Assert.Contains(metrics, m => m.ScopeName == "System.Runtime" && m.Name == "dotnet.process.cpu.time");
        Assert.DoesNotContain(metrics, m => m.Name.StartsWith("http.client", StringComparison.Ordinal));
        Assert.All(metrics, m => Assert.Equal("http/protobuf", m.Protocol));
    }

    [Fact]
    public async Task Grpc_with_delta_temporality_sends_each_measurement_once_and_keeps_up_down_counters_cumulative()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, Environment(
            receiver,
            "metrics-delta",
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", receiver.GrpcEndpoint),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")));

        for (var i = 1; i <= 3; i++)
        {
            await GetAsync(app.BaseUrl + "/orders/" + i.ToString(CultureInfo.InvariantCulture));
        }

        await receiver.WaitForMetricsAsync(all => all.DeltaIntTotal("shop.orders", _ => true) == 3, Timeout);
        for (var i = 1; i <= 4; i++)
        {
            await GetAsync(app.BaseUrl + "/orders/" + i.ToString(CultureInfo.InvariantCulture));
        }

        var metrics = await receiver.WaitForMetricsAsync(
            all => all.DeltaIntTotal("shop.orders", _ => true) == 7 && all.DeltaCountTotal(ServerDuration, Orders) == 7,
            Timeout);

        // Spread over several exports, each measurement counted once.
        Assert.True(metrics.Named("shop.orders").Select(m => m.Export).Distinct().Count() >= 2);
        Assert.All(metrics.Named("shop.orders"), m => Assert.Equal(AggregationTemporality.Delta, m.Metric.Sum.AggregationTemporality));
        Assert.All(metrics.Named(ServerDuration), m => Assert.Equal(AggregationTemporality.Delta, m.Metric.Histogram.AggregationTemporality));
        foreach (var point in metrics.Named(ServerDuration).SelectMany(m => m.Metric.Histogram.DataPoints))
        {
            Assert.Equal(point.Count, point.BucketCounts.Aggregate(0UL, (a, b) => a + b));
            Assert.True(point.StartTimeUnixNano < point.TimeUnixNano);
        }

        // Consecutive delta points of one series do not overlap in time.
        var intervals = metrics.Named("shop.orders").SelectMany(m => m.Metric.Sum.DataPoints).OrderBy(p => p.StartTimeUnixNano).ToList();
        for (var i = 1; i < intervals.Count; i++)
        {
            Assert.True(intervals[i].StartTimeUnixNano >= intervals[i - 1].TimeUnixNano);
        }

        // The delta preference leaves up-down counters cumulative (OTLP exporter specification).
        Assert.Contains(metrics, m => m.Name == "http.server.active_requests");
        Assert.All(metrics.Named("http.server.active_requests"), m => Assert.Equal(AggregationTemporality.Cumulative, m.Metric.Sum.AggregationTemporality));
        Assert.All(metrics.Named("dotnet.gc.collections"), m => Assert.Equal(AggregationTemporality.Delta, m.Metric.Sum.AggregationTemporality));
        Assert.All(metrics, m => Assert.Equal("grpc", m.Protocol));
        Assert.All(receiver.Requests.Where(r => r.Signal == "metrics"), r => Assert.Equal("grpc", r.Protocol));
        Assert.Contains(receiver.Requests, r => r.Signal == "traces" && r.Protocol == "http/protobuf");
    }

    [Theory]
    [InlineData("cumulative", 9)]
    [InlineData("delta", 5)]
    public async Task A_collector_outage_loses_only_what_the_temporality_must_and_the_agent_says_so(string temporality, long expectedTotal)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, Environment(
            receiver,
            "metrics-outage-" + temporality,
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", temporality)));
        long Total(IReadOnlyList<ReceivedMetric> all) => temporality == "delta" ? all.DeltaIntTotal("shop.orders", _ => true) : all.LatestInt("shop.orders", _ => true);

        await Orders(app, 3);
        await receiver.WaitForMetricsAsync(all => Total(all) == 3, Timeout);

        // 400 is not retryable: each collection during the outage is one refused request.
        receiver.Mode = ReceiverMode.Status(400);
        await Orders(app, 4);
        var mark = receiver.Requests.Count;
        await receiver.WaitForRequestsAsync(r => r.Skip(mark).Count(q => q.Signal == "metrics" && q.Mode.Kind == ReceiverModeKind.Status) >= 2, Timeout);
        receiver.Mode = ReceiverMode.Normal;
        await Orders(app, 2);

        var metrics = await receiver.WaitForMetricsAsync(
            all => Total(all) >= expectedTotal && all.LatestInt("traceagent.metric_points.rejected", _ => true) > 0,
            Timeout);
        Assert.Equal(expectedTotal, Total(metrics));

        var line = await app.Process.WaitForOutputAsync("metric points lost so far:", Timeout);
        Assert.Contains(temporality == "delta" ? "delta points" : "the next accepted export carries their totals", line, StringComparison.Ordinal);
        Assert.Contains(app.Process.StandardError, l => l.Contains("metrics export to", StringComparison.Ordinal) && l.Contains("HTTP 400", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_partial_success_counts_only_the_rejected_points_as_lost()
    {
        // The collector accepts each request but says it rejected 2 of its points.
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.PartialSuccess(2, "2 points had an attribute the backend refuses");
        using var app = await WebApp.StartAsync(App, Environment(receiver, "metrics-partial"));
        await Orders(app, 3);

        var line = await app.Process.WaitForOutputAsync("metric points lost so far:", Timeout);
        var numbers = System.Text.RegularExpressions.Regex.Match(line, @"metric points lost so far: (\d+) not accepted by the exporter \(.*\); (\d+) exported$");
        Assert.True(numbers.Success, line);
        Assert.Equal("2", numbers.Groups[1].Value);
        Assert.True(long.Parse(numbers.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) > 2, line);
        Assert.Contains(app.Process.StandardError, l => l.Contains("the collector rejected 2 data points of a batch: 2 points had an attribute the backend refuses", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_retryable_answer_gets_the_collection_sent_again_and_delta_points_are_not_lost()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, Environment(
            receiver,
            "metrics-retried",
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")));
        long Total(IReadOnlyList<ReceivedMetric> all) => all.DeltaIntTotal("shop.orders", _ => true);

        await Orders(app, 3);
        await receiver.WaitForMetricsAsync(all => Total(all) == 3, Timeout);

        // 503 with a retry in 1 s: the collection waits and is sent again, to a collector healthy by then.
        receiver.Mode = ReceiverMode.Status(503, retryAfterSeconds: 1);
        await Orders(app, 4);
        var mark = receiver.Requests.Count;
        await receiver.WaitForRequestsAsync(r => r.Skip(mark).Any(q => q.Signal == "metrics" && q.Mode.Kind == ReceiverModeKind.Status), Timeout);
        receiver.Mode = ReceiverMode.Normal;
        await Orders(app, 2);

        // Delta points are lost when a collection is dropped (5 in the test above); here none is.
        var metrics = await receiver.WaitForMetricsAsync(all => Total(all) >= 9, Timeout);
        Assert.Equal(9, Total(metrics));
        Assert.DoesNotContain(app.Process.StandardError, l => l.Contains("metric points lost so far", StringComparison.Ordinal));
    }

    private static async Task Orders(WebApp app, int count)
    {
        for (var i = 1; i <= count; i++)
        {
            await GetAsync(app.BaseUrl + "/orders/" + i.ToString(CultureInfo.InvariantCulture));
        }
    }

    [Theory]
    [InlineData("OTEL_TRACES_SAMPLER", "always_off")]
    [InlineData("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")]
    public async Task Without_sampled_spans_or_with_exemplars_off_counts_stay_right_and_no_exemplar_is_made(string key, string value)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, Environment(receiver, "metrics-no-exemplars", (key, value)));
        await Orders(app, 4);

        var metrics = await receiver.WaitForMetricsAsync(all => all.LatestCount(ServerDuration, Orders) == 4, Timeout);
        Assert.All(metrics.Named(ServerDuration).SelectMany(m => m.Metric.Histogram.DataPoints), p => Assert.Empty(p.Exemplars));
        if (key == "OTEL_TRACES_SAMPLER")
        {
            Assert.DoesNotContain(receiver.Spans, s => (s.Attribute("http.route") as string) == OrdersRoute);
        }
    }

    [Fact]
    public async Task Always_on_exemplars_come_from_unsampled_requests_too()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, Environment(receiver, "metrics-always-on", ("OTEL_TRACES_SAMPLER", "always_off"), ("OTEL_METRICS_EXEMPLAR_FILTER", "always_on")));
        await Orders(app, 3);

        var metrics = await receiver.WaitForMetricsAsync(all => all.LatestCount(ServerDuration, Orders) == 3, Timeout);
        var exemplars = metrics.Named(ServerDuration).SelectMany(m => m.Metric.Histogram.DataPoints).Where(Orders).SelectMany(p => p.Exemplars).ToList();
        Assert.NotEmpty(exemplars);
        Assert.All(exemplars, e => Assert.Equal(16, e.TraceId.Length));
    }

    [Fact]
    public async Task Per_library_switches_turn_meters_off()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using (var app = await WebApp.StartAsync(App, Environment(
            receiver,
            "metrics-switches",
            ("OTEL_DOTNET_AUTO_METRICS_ASPNETCORE_INSTRUMENTATION_ENABLED", "false"),
            ("OTEL_DOTNET_AUTO_METRICS_NETRUNTIME_INSTRUMENTATION_ENABLED", "false"))))
        {
            await Orders(app, 2);
            var metrics = await receiver.WaitForMetricsAsync(all => all.LatestInt("shop.orders", _ => true) == 2, Timeout);
            Assert.DoesNotContain(metrics, m => m.ScopeName.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
            Assert.DoesNotContain(metrics, m => m.ScopeName == "System.Runtime");
            Assert.Contains(metrics, m => m.ScopeName == "TraceAgent");
            Assert.Contains(app.Process.StandardError, l => l.Contains("metrics: otlp/http http://127.0.0.1:", StringComparison.Ordinal) && l.Contains("/v1/metrics", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("OTEL_METRICS_EXPORTER", "none")]
    [InlineData("OTEL_DOTNET_AUTO_METRICS_ENABLED", "false")]
    public async Task Metrics_off_send_no_metrics_while_traces_flow(string key, string value)
    {
        await using var second = await OtlpReceiver.StartAsync();
        using var none = await WebApp.StartAsync(App, Environment(second, "metrics-none", (key, value)));
        await Orders(none, 2);
        await second.WaitForSpansAsync(all => all.Count(s => (s.Attribute("http.route") as string) == OrdersRoute) == 2, Timeout);

        // A graceful stop, whose flush at exit would send metrics if any were collected.
        using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", none.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        await none.Process.WaitForExitAsync(Timeout);
        Assert.Empty(second.Metrics);
        Assert.DoesNotContain(second.Requests, r => r.Signal == "metrics");
        Assert.Contains(none.Process.StandardError, l => l.Contains("; metrics: off;", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Client_request_durations_count_outgoing_calls_and_lead_to_the_client_spans()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var backend = await WebApp.StartAsync(App, Environment(receiver, "metrics-backend"));
        using var front = await WebApp.StartAsync(App, Environment(receiver, "metrics-front", ("BACKEND_URL", backend.BaseUrl)));
        for (var i = 1; i <= 3; i++)
        {
            await GetAsync(front.BaseUrl + "/call/" + i.ToString(CultureInfo.InvariantCulture));
        }

        bool ToBackend(HistogramDataPoint p) => p.Attributes.Attribute("server.port") is long port && port == backend.Port;
        var metrics = await receiver.WaitForMetricsAsync(all => all.LatestCount("http.client.request.duration", ToBackend, "metrics-front") == 3, Timeout);
        var point = Assert.Single(metrics.LatestHistogram("http.client.request.duration", ToBackend, "metrics-front"));
        Assert.Equal("GET", point.Attributes.Attribute("http.request.method"));
        Assert.Equal(200L, point.Attributes.Attribute("http.response.status_code"));
        Assert.Equal(SecondsBounds, point.ExplicitBounds);

        // No point for the receiver: the agent's export calls are not the app's.
        Assert.DoesNotContain(
            metrics.Named("http.client.request.duration").SelectMany(m => m.Metric.Histogram.DataPoints),
            p => p.Attributes.Attribute("server.port") is long port && (port == receiver.HttpPort || port == receiver.GrpcPort));

        var spans = await receiver.WaitForSpansAsync(all => all.Count(s => s.Kind == SpanKinds.Client && s.ServiceName == "metrics-front") == 3, Timeout);
        var exemplars = metrics.Named("http.client.request.duration", "metrics-front").SelectMany(m => m.Metric.Histogram.DataPoints).Where(ToBackend).SelectMany(p => p.Exemplars).ToList();
        Assert.NotEmpty(exemplars);
        Assert.All(exemplars, e => Assert.Contains(spans, s => s.Kind == SpanKinds.Client && s.TraceId == e.TraceId.Hex() && s.SpanId == e.SpanId.Hex()));
    }

    [Fact]
    public async Task Over_grpc_the_agents_own_export_calls_make_no_client_span_and_no_client_measurement()
    {
        // gRPC export goes through HttpClient (plain OTLP/HTTP does not): its calls must stay out
        // of the app's spans and http.client.* metrics.
        await using var receiver = await OtlpReceiver.StartAsync();
        using var backend = await WebApp.StartAsync(App, Environment(receiver, "metrics-backend"));
        using var front = await WebApp.StartAsync(App, AgentEnvironment.For(receiver, "metrics-grpc", grpc: true).With(
            ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
            ("BACKEND_URL", backend.BaseUrl)));
        await GetAsync(front.BaseUrl + "/call/1");

        bool ToBackend(HistogramDataPoint p) => p.Attributes.Attribute("server.port") is long port && port == backend.Port;
        await receiver.WaitForMetricsAsync(all => all.LatestCount("http.client.request.duration", ToBackend, "metrics-grpc") == 1, Timeout);

        // Several gRPC exports of each signal have been made by now.
        await receiver.WaitForRequestsAsync(all => all.Count(r => r.Protocol == "grpc" && r.Signal == "metrics") >= 3 && all.Any(r => r.Protocol == "grpc" && r.Signal == "traces"), Timeout);
        var metrics = await receiver.WaitForMetricsAsync(all => all.LatestCount("http.client.request.duration", ToBackend, "metrics-grpc") == 1, Timeout);
        Assert.DoesNotContain(
            metrics.Named("http.client.request.duration", "metrics-grpc").SelectMany(m => m.Metric.Histogram.DataPoints),
            p => p.Attributes.Attribute("server.port") is long port && port == receiver.GrpcPort);
        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => s.Kind == SpanKinds.Client && s.ServiceName == "metrics-grpc"), Timeout);
        Assert.Single(spans, s => s.Kind == SpanKinds.Client && s.ServiceName == "metrics-grpc");
        Assert.DoesNotContain(spans, s => s.Attribute("server.port") is long port && port == receiver.GrpcPort);
    }

    [Fact]
    public async Task Calls_by_host_name_measure_the_name_lookup_and_the_open_connections()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var backend = await WebApp.StartAsync(App, Environment(receiver, "metrics-backend"));
        using var front = await WebApp.StartAsync(App, Environment(receiver, "metrics-front", ("BACKEND_URL", $"http://localhost:{backend.Port.ToString(CultureInfo.InvariantCulture)}")));
        await GetAsync(front.BaseUrl + "/call/1");

        bool Localhost(HistogramDataPoint p) => (p.Attributes.Attribute("dns.question.name") as string) == "localhost";
        var metrics = await receiver.WaitForMetricsAsync(
            all => all.LatestCount("dns.lookup.duration", Localhost, "metrics-front") >= 1 && all.Named("http.client.open_connections", "metrics-front").Count > 0,
            Timeout);
        Assert.Equal("System.Net.NameResolution", metrics.Named("dns.lookup.duration", "metrics-front").Last().ScopeName);
        Assert.Equal("System.Net.Http", metrics.Named("http.client.open_connections", "metrics-front").Last().ScopeName);
    }

    [Fact]
    public async Task Switching_HttpClient_metrics_off_drops_the_client_durations_only()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var backend = await WebApp.StartAsync(App, Environment(receiver, "metrics-backend"));
        using var front = await WebApp.StartAsync(App, Environment(
            receiver,
            "metrics-front",
            ("BACKEND_URL", backend.BaseUrl),
            ("OTEL_DOTNET_AUTO_METRICS_HTTPCLIENT_INSTRUMENTATION_ENABLED", "false")));
        for (var i = 1; i <= 2; i++)
        {
            await GetAsync(front.BaseUrl + "/call/" + i.ToString(CultureInfo.InvariantCulture));
        }

        // Each call's client duration would be recorded before its request's server duration.
        var metrics = await receiver.WaitForMetricsAsync(all => all.LatestCount(ServerDuration, p => Route(p) == "/call/{id:int}", "metrics-front") == 2, Timeout);
        Assert.Empty(metrics.Named("http.client.request.duration", "metrics-front"));
        Assert.DoesNotContain(metrics, m => m.ServiceName == "metrics-front" && m.ScopeName == "System.Net.Http");

        // The client spans are not the metrics' switch.
        await receiver.WaitForSpansAsync(all => all.Count(s => s.Kind == SpanKinds.Client && s.ServiceName == "metrics-front") == 2, Timeout);
    }

    [Fact]
    public async Task A_short_lived_process_exports_its_measurements_when_it_exits()
    {
        await using var receiver = await OtlpReceiver.StartAsync();

        // The default interval (60 s) never elapses: only the flush at exit can send these.
        var environment = AgentEnvironment.For(receiver, "metrics-once").With(("OTEL_DOTNET_AUTO_METRICS_ADDITIONAL_SOURCES", "TestApp.Shop"), ("RUN_ONCE", "6"));
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(App), environment);
        Assert.Equal(0, await process.WaitForExitAsync(Timeout));

        var metrics = receiver.Metrics;
        Assert.Equal(6, metrics.LatestInt("shop.orders", p => (p.Attributes.Attribute("shop.region") as string) == "eu"));
        Assert.Single(metrics.Named("shop.orders"));
    }

    /// <summary>
    /// An app that makes instruments without bound: the first 1,000 metrics are exported, later
    /// instruments are not, and one warning names the first left out (docs/troubleshooting.md).
    /// </summary>
    [Fact]
    public async Task Past_1000_instruments_later_ones_are_not_exported_and_one_line_says_so()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "metrics-many").With(
            ("OTEL_DOTNET_AUTO_METRICS_ADDITIONAL_SOURCES", "TestApp.Shop,TestApp.Many"),
            ("RUN_ONCE", "1"),
            ("MANY_INSTRUMENTS", "1100"));
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(App), environment);
        Assert.Equal(0, await process.WaitForExitAsync(Timeout));

        var warning = Assert.Single(process.StandardError, l => l.Contains("metrics: more than 1000 instruments; ", StringComparison.Ordinal));
        var named = System.Text.RegularExpressions.Regex.Match(warning, "'many\\.([0-9]+)' of meter 'TestApp\\.Many' and later ones are not exported");
        Assert.True(named.Success, warning);
        var firstLeftOut = int.Parse(named.Groups[1].Value, CultureInfo.InvariantCulture);

        // The framework's and the app's other meters have far fewer than 100 instruments.
        Assert.InRange(firstLeftOut, 900, 999);
        var metrics = receiver.Metrics;
        var many = metrics.Where(m => m.ScopeName == "TestApp.Many").ToList();
        Assert.Equal(
            Enumerable.Range(0, firstLeftOut).Select(i => "many." + i.ToString(CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal),
            many.Select(m => m.Name).Order(StringComparer.Ordinal));
        Assert.All(many, m => Assert.Equal(1, Assert.Single(m.Metric.Sum.DataPoints).AsInt));
        Assert.InRange(metrics.Select(m => m.ScopeName + "/" + m.Name).Distinct().Count(), firstLeftOut + 1, 1000);
        Assert.Equal(1, metrics.LatestInt("shop.orders", p => (p.Attributes.Attribute("shop.region") as string) == "eu"));
    }

    [Fact]
    public async Task The_console_exporter_prints_each_point_on_stdout()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "metrics-console").With(
            ("OTEL_METRICS_EXPORTER", "console"),
            ("OTEL_DOTNET_AUTO_METRICS_ADDITIONAL_SOURCES", "TestApp.Shop"),
            ("RUN_ONCE", "3"));
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(App), environment);
        Assert.Equal(0, await process.WaitForExitAsync(Timeout));

        Assert.Contains("metric shop.orders [TestApp.Shop] shop.region=eu value=3{order} (cumulative)", process.StandardOutput);
        Assert.Contains(process.StandardOutput, l => l.StartsWith("metric dotnet.gc.collections [System.Runtime] gc.heap.generation=gen0 value=", StringComparison.Ordinal));
        Assert.Empty(receiver.Metrics);
    }

    [Fact]
    public async Task Past_the_cardinality_limit_new_attribute_sets_fold_into_the_overflow_point_and_nothing_is_lost()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, Environment(receiver, "metrics-cardinality", ("TRACEAGENT_METRICS_CARDINALITY_LIMIT", "5")));
        for (var i = 0; i < 10; i++)
        {
            await GetAsync(app.BaseUrl + "/labels/label-" + i.ToString(CultureInfo.InvariantCulture));
        }

        await GetAsync(app.BaseUrl + "/labels/label-0");
        var metrics = await receiver.WaitForMetricsAsync(all => all.Named("shop.labels").LastOrDefault()?.Metric.Sum.DataPoints.Sum(p => p.AsInt) == 11, Timeout);
        var points = metrics.Named("shop.labels").Last().Metric.Sum.DataPoints;
        Assert.Equal(5, points.Count);
        var overflow = Assert.Single(points, p => p.Attributes.Attribute("otel.metric.overflow") is true);
        Assert.Single(overflow.Attributes);
        Assert.Equal(6, overflow.AsInt);
        Assert.Equal(2, Assert.Single(points, p => (p.Attributes.Attribute("shop.label") as string) == "label-0").AsInt);
    }

    [Fact]
    public async Task The_agents_health_metrics_match_what_the_collector_received()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, Environment(receiver, "metrics-health", ("OTEL_LOGS_EXPORTER", "otlp"), ("OTEL_BLRP_SCHEDULE_DELAY", "100")));
        await Orders(app, 4);
        await receiver.WaitForSpansAsync(all => all.Count(s => (s.Attribute("http.route") as string) == OrdersRoute) == 4, Timeout);

        // Once everything is exported, the exported counters equal what arrived here, span for span.
        var metrics = await receiver.WaitForMetricsAsync(
            all => all.LatestInt("traceagent.spans.exported", _ => true) == receiver.Spans.Count
                && all.LatestInt("traceagent.log_records.exported", _ => true) == receiver.Logs.Count
                && receiver.Logs.Count > 0,
            Timeout);
        Assert.Equal(0, metrics.LatestInt("traceagent.spans.dropped", _ => true));
        Assert.Equal(0, metrics.LatestInt("traceagent.spans.rejected", _ => true));
        Assert.Equal(0, metrics.LatestInt("traceagent.log_records.rejected", _ => true));
        Assert.Contains(metrics, m => m.Name == "traceagent.spans.queued" && !m.Metric.Sum.IsMonotonic);
        Assert.True(metrics.LatestInt("traceagent.metric_points.exported", _ => true) > 0);

        bool Successful(HistogramDataPoint p, string signal) =>
            (p.Attributes.Attribute("traceagent.signal") as string) == signal && (p.Attributes.Attribute("traceagent.outcome") as string) == "success";
        Assert.True(metrics.LatestCount("traceagent.export.duration", p => Successful(p, "traces")) > 0);
        Assert.True(metrics.LatestCount("traceagent.export.duration", p => Successful(p, "logs")) > 0);
        Assert.True(metrics.LatestCount("traceagent.export.duration", p => Successful(p, "metrics")) > 0);
    }

    [Fact]
    public async Task A_rejecting_collector_shows_in_the_rejected_span_counter()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var metricsReceiver = await OtlpReceiver.StartAsync();

        // Spans go to a collector that refuses them; metrics to one that works.
        receiver.Mode = ReceiverMode.Status(400);
        using var app = await WebApp.StartAsync(App, Environment(receiver, "metrics-rejected", ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", metricsReceiver.HttpEndpoint + "/v1/metrics")));
        await Orders(app, 3);
        await receiver.WaitForRequestsAsync(r => r.Any(q => q.Signal == "traces"), Timeout);

        var metrics = await metricsReceiver.WaitForMetricsAsync(all => all.LatestInt("traceagent.spans.rejected", _ => true) >= 3, Timeout);
        Assert.Equal(0, metrics.LatestInt("traceagent.spans.exported", _ => true));
        Assert.True(metrics.LatestCount("traceagent.export.duration", p => (p.Attributes.Attribute("traceagent.outcome") as string) == "failure") > 0);
    }
}
