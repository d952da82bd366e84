using System.Diagnostics;
using System.Net;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Sampling;

/// <summary>
/// The sampling policies on real processes: ratios within statistical bounds, rules and the rate
/// limit under concurrent load, and errors and slow requests kept whole at ratio 0 (docs/sampling.md).
/// </summary>
/// <remarks>
/// Absence is proven without waiting: the batch processor exports spans in the order they end, one
/// request at a time, so once a span that ended later has arrived, an earlier one that was to be
/// exported has arrived too. Each test ends with such a marker request, which carries a sampled
/// parent: the parent-based head sampler follows it whatever the policies.
/// </remarks>
public sealed class SamplingTests
{
    private const string App = "TestApplication.Web";
    private const string Marker = "/items/424242";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static bool IsServer(ReceivedSpan span, string path) =>
        span.Kind == SpanKinds.Server && (span.Attribute("url.path") as string) == path;

    private static async Task<IReadOnlyList<ReceivedSpan>> AfterMarkerAsync(OtlpReceiver receiver, HttpClient client, WebApp app, string service)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, app.BaseUrl + Marker);
        request.Headers.Add("traceparent", TraceParents.NewSampled());
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await receiver.WaitForSpansAsync(all => all.Any(s => s.ServiceName == service && IsServer(s, Marker)), Timeout);
    }

    private static async Task SendAsync(HttpClient client, IEnumerable<string> urls, int concurrency)
    {
        using var gate = new SemaphoreSlim(concurrency);
        await Task.WhenAll(urls.Select(async url =>
        {
            await gate.WaitAsync();
            try
            {
                using var response = await client.GetAsync(url);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    [Fact]
    public async Task A_ratio_samples_within_statistical_bounds_and_rules_decide_by_path_under_concurrent_load()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, AgentEnvironment.For(receiver, "rules").With(
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("TRACEAGENT_SAMPLER_RULES", "/health*=0,/items/*=1,/status/*=0.5,/__ready=0")));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        const int Each = 400;
        var urls = Enumerable.Range(0, Each).SelectMany(i => new[] { "/hello", "/health", "/items/" + i, "/status/" + (200 + (i % 2)) })
            .Select(p => app.BaseUrl + p).ToList();
        await SendAsync(client, urls, concurrency: 16);
        var spans = await AfterMarkerAsync(receiver, client, app, "rules");

        // Every /items request (ratio 1), no /health (ratio 0).
        Assert.Equal(Each + 1, spans.Count(s => (s.Attribute("url.path") as string ?? "").StartsWith("/items/", StringComparison.Ordinal)));
        Assert.DoesNotContain(spans, s => IsServer(s, "/health"));
        Assert.All(spans.Where(s => (s.Attribute("url.path") as string ?? "").StartsWith("/items/", StringComparison.Ordinal) && s.IsRoot), s => Assert.Equal("rule", s.Attribute("traceagent.sampling.reason")));
        Assert.Equal("parent", Assert.Single(spans, s => IsServer(s, Marker)).Attribute("traceagent.sampling.reason"));

        // /hello matches no rule: the head sampler's 25%; /status/* its rule's 50%. A binomial
        // count stays within 6 standard deviations of its mean but for 2 in a billion runs.
        AssertBinomial(spans.Count(s => IsServer(s, "/hello")), Each, 0.25);
        AssertBinomial(spans.Count(s => (s.Attribute("url.path") as string ?? "").StartsWith("/status/", StringComparison.Ordinal)), Each, 0.5);
        Assert.All(spans.Where(s => IsServer(s, "/hello")), s => Assert.Equal("ratio", s.Attribute("traceagent.sampling.reason")));
        Assert.Contains(app.Process.StandardError, l => l.Contains("sampler: parentbased_traceidratio(0.25); rules /health*=0,/items/*=1,/status/*=0.5,/__ready=0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rules_decide_roots_only_and_a_remote_parents_decision_is_followed_against_them()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, AgentEnvironment.For(receiver, "rules-parent").With(
            ("TRACEAGENT_SAMPLER_RULES", "/health*=0,/items/*=1")));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // A sampled parent on a path whose rule says 0, an unsampled one on a path whose rule says 1.
        var sampled = TraceParents.NewSampled();
        var unsampledTraceId = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
        foreach (var (path, traceparent) in new[] { ("/health", sampled), ("/items/5", $"00-{unsampledTraceId}-00f067aa0ba902b7-00") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, app.BaseUrl + path);
            request.Headers.Add("traceparent", traceparent);
            using var response = await client.SendAsync(request);
        }

        var spans = await AfterMarkerAsync(receiver, client, app, "rules-parent");
        var health = Assert.Single(spans, s => IsServer(s, "/health"));
        Assert.Equal(sampled.Split('-')[1], health.TraceId);
        Assert.Equal("parent", health.Attribute("traceagent.sampling.reason"));
        Assert.DoesNotContain(spans, s => s.TraceId == unsampledTraceId);
    }

    private static void AssertBinomial(int count, int n, double p)
    {
        var mean = n * p;
        var sd = Math.Sqrt(n * p * (1 - p));
        Assert.InRange(count, mean - (6 * sd), mean + (6 * sd));
    }

    [Fact]
    public async Task The_rate_limit_holds_under_concurrent_load_and_remote_parents_are_followed()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, AgentEnvironment.For(receiver, "limited").With(
            ("TRACEAGENT_SAMPLER_MAX_TRACES_PER_SECOND", "20"),
            ("TRACEAGENT_SAMPLER_RULES", "/__ready=0")));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        var clock = Stopwatch.StartNew();
        await SendAsync(client, Enumerable.Range(0, 1500).Select(_ => app.BaseUrl + "/hello"), concurrency: 16);
        var elapsed = clock.Elapsed;

        // Requests that carry a sampled parent follow it, whatever the rate limit.
        for (var i = 0; i < 40; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, app.BaseUrl + "/items/" + i);
            request.Headers.Add("traceparent", TraceParents.NewSampled());
            using var response = await client.SendAsync(request);
        }

        var spans = await AfterMarkerAsync(receiver, client, app, "limited");

        // The bucket's 20 at once, then 20 a second while the load ran ("/__ready" took none: its
        // rule's ratio 0 decides before the limit).
        var hello = spans.Count(s => IsServer(s, "/hello"));
        Assert.InRange(hello, 20, 20 + (int)Math.Ceiling(20 * elapsed.TotalSeconds) + 1);
        Assert.True(hello < 1500);
        Assert.Equal(40, spans.Count(s => (s.Attribute("url.path") as string ?? "").StartsWith("/items/", StringComparison.Ordinal) && !IsServer(s, Marker)));
        Assert.All(spans.Where(s => IsServer(s, "/hello")), s => Assert.True(s.IsRoot));
    }

    [Fact]
    public async Task At_ratio_0_failing_and_slow_requests_arrive_whole_in_every_service_and_good_ones_do_not()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        (string, string?)[] settings =
        [
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
            ("TRACEAGENT_SAMPLER_KEEP_ERRORS", "true"),
            ("TRACEAGENT_SAMPLER_KEEP_SLOWER_THAN_MS", "1500"),
        ];
        using var back = await WebApp.StartAsync(App, AgentEnvironment.For(receiver, "back").With(settings));
        using var front = await WebApp.StartAsync(App, AgentEnvironment.For(receiver, "front").With(settings).With(("BACKEND_URL", back.BaseUrl)));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // A first request pays for the JIT and could be slow: warm both apps up with traces that
        // are sampled anyway (a sampled parent), then the measured requests are only as slow as asked.
        for (var i = 0; i < 3; i++)
        {
            using var warmUp = new HttpRequestMessage(HttpMethod.Get, front.BaseUrl + "/front?path=/slow/1");
            warmUp.Headers.Add("traceparent", TraceParents.NewSampled());
            using var warmed = await client.SendAsync(warmUp);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(front.BaseUrl + "/front")).StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, (await client.GetAsync(front.BaseUrl + "/front?path=/status/500")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(front.BaseUrl + "/front?path=/slow/2000")).StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, (await client.GetAsync(front.BaseUrl + "/throw")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(front.BaseUrl + "/front?path=/slow/10")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(front.BaseUrl + "/front-then-wait/2000")).StatusCode);

        var spans = await AfterMarkerAsync(receiver, client, front, "front");
        await AfterMarkerAsync(receiver, client, back, "back");
        spans = receiver.Spans;

        // The failure in the back travels back as a status: each service keeps its own part.
        var failedBack = Assert.Single(spans, s => s.ServiceName == "back" && IsServer(s, "/status/500"));
        var failedTrace = spans.Where(s => s.TraceId == failedBack.TraceId).ToList();
        Assert.Equal(3, failedTrace.Count);
        var failedClient = Assert.Single(failedTrace, s => s.Kind == SpanKinds.Client);
        var failed = Assert.Single(failedTrace, s => s.ServiceName == "front" && IsServer(s, "/front"));
        Assert.Equal(2, failed.StatusCode);
        Assert.Equal(2, failedClient.StatusCode);
        Assert.Equal(failed.SpanId, failedClient.ParentSpanId);
        Assert.Equal(failedClient.SpanId, failedBack.ParentSpanId);
        Assert.Equal("error", failed.Attribute("traceagent.sampling.reason"));
        Assert.Equal("error", failedBack.Attribute("traceagent.sampling.reason"));
        Assert.Equal(500L, failedBack.Attribute("http.response.status_code"));
        Assert.Equal("/status/{code:int}", failedBack.Attribute("http.route"));

        // A held server span is tagged only as it ends, its trace kept: tagged in full all the same.
        Assert.Equal("path=REDACTED", failed.Attribute("url.query"));
        Assert.Equal("GET /front", failed.Name);
        Assert.Equal("GET", failed.Attribute("http.request.method"));
        Assert.Equal("127.0.0.1", failed.Attribute("client.address"));

        // Two requests carry path=REDACTED; the slow one is told apart by its back's duration.
        var slowBack = Assert.Single(spans, s => s.ServiceName == "back" && IsServer(s, "/slow/2000"));
        var slowTrace = spans.Where(s => s.TraceId == slowBack.TraceId).ToList();
        Assert.Equal(3, slowTrace.Count);
        Assert.Equal("slow", slowBack.Attribute("traceagent.sampling.reason"));
        Assert.Equal("slow", Assert.Single(slowTrace, s => s.ServiceName == "front" && s.Kind == SpanKinds.Server).Attribute("traceagent.sampling.reason"));

        // A slow service keeps its part; the fast service it called does not: the trace arrives without it.
        var slowFront = Assert.Single(spans, s => IsServer(s, "/front-then-wait/2000"));
        Assert.Equal("slow", slowFront.Attribute("traceagent.sampling.reason"));
        var fastCall = Assert.Single(spans, s => s.TraceId == slowFront.TraceId && s.Kind == SpanKinds.Client);
        Assert.Equal(slowFront.SpanId, fastCall.ParentSpanId);
        Assert.DoesNotContain(spans, s => s.TraceId == slowFront.TraceId && s.ServiceName == "back");

        var thrown = Assert.Single(spans, s => IsServer(s, "/throw"));
        Assert.Contains(thrown.Events, e => e.Name == "exception");

        // Neither the fast good requests nor their back calls arrived: of the front's requests not
        // sampled upstream, only the failing, slow (twice) and throwing ones.
        Assert.DoesNotContain(spans, s => s.ServiceName == "back" && (IsServer(s, "/items/7") || IsServer(s, "/slow/10")));
        var kept = spans.Where(s => s.ServiceName == "front" && s.Kind == SpanKinds.Server && (s.Attribute("traceagent.sampling.reason") as string) != "parent" && !IsServer(s, WebApp.ReadinessPath)).ToList();
        Assert.Equal(4, kept.Count);
        Assert.Equal(["error", "error", "slow", "slow"], kept.Select(s => (string)s.Attribute("traceagent.sampling.reason")!).Order(StringComparer.Ordinal));
        Assert.Contains(front.Process.StandardError, l => l.Contains("unsampled traces kept when with errors or slower than 1500 ms", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Past_the_buffer_cap_a_held_span_is_dropped_counted_and_logged_and_its_kept_trace_goes_without_it()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var back = await WebApp.StartAsync(App, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        using var front = await WebApp.StartAsync(App, AgentEnvironment.For(receiver, "capped").With(
            ("BACKEND_URL", back.BaseUrl),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
            ("TRACEAGENT_SAMPLER_KEEP_ERRORS", "true"),
            ("TRACEAGENT_SAMPLER_KEEP_MAX_BUFFERED_SPANS", "1")));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // The failing call's client span ends first and fills the buffer; the request's own span finds it full. Twice.
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, (await client.GetAsync(front.BaseUrl + "/front?path=/status/500")).StatusCode);
        }

        var spans = await AfterMarkerAsync(receiver, client, front, "capped");
        var failedClients = spans.Where(s => s.Kind == SpanKinds.Client).ToList();
        Assert.Equal(2, failedClients.Count);
        Assert.All(failedClients, c => Assert.Equal(2, c.StatusCode));
        Assert.DoesNotContain(spans, s => failedClients.Any(c => c.TraceId == s.TraceId) && s.Kind == SpanKinds.Server);

        // One line for the first drop; the second, within the minute, is only counted.
        await front.Process.WaitForOutputAsync("sampling: 1 spans of undecided traces dropped so far: the buffer is full (TRACEAGENT_SAMPLER_KEEP_MAX_BUFFERED_SPANS=1)", Timeout);
        Assert.Single(front.Process.StandardError, l => l.Contains("undecided traces dropped so far", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_database_request_at_ratio_0_arrives_with_its_database_spans()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("shop");
        await using var receiver = await OtlpReceiver.StartAsync();
        var connectionString = $"Host=127.0.0.1;Port={postgres.Port};Username=postgres;Password=pw;Database=shop;Pooling=true";
        using var app = await WebApp.StartAsync("TestApplication.Database-high", AgentEnvironment.For(receiver, "db-keep").With(
            ("DATABASE_URL", connectionString),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
            ("TRACEAGENT_SAMPLER_KEEP_ERRORS", "true")));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(app.BaseUrl + "/db/raw")).StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, (await client.GetAsync(app.BaseUrl + "/db/error")).StatusCode);
        using var marker = new HttpRequestMessage(HttpMethod.Get, app.BaseUrl + "/db/raw?marker=1");
        marker.Headers.Add("traceparent", TraceParents.NewSampled());
        using (var response = await client.SendAsync(marker))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => IsServer(s, "/db/raw") && s.Attribute("url.query") is not null), Timeout);
        var failed = Assert.Single(spans, s => IsServer(s, "/db/error"));
        Assert.Equal("error", failed.Attribute("traceagent.sampling.reason"));
        var query = Assert.Single(spans, s => s.ParentSpanId == failed.SpanId && s.Attribute("db.system.name") as string == "postgresql" && s.Attribute("db.query.text") is not null);
        Assert.Equal(2, query.StatusCode);
        Assert.Equal(SpanKinds.Client, query.Kind);

        // The good request before it left nothing behind; the marker's own queries arrived with it.
        var rawServers = spans.Where(s => IsServer(s, "/db/raw")).ToList();
        var markerServer = Assert.Single(rawServers);
        Assert.Equal(2, spans.Count(s => s.ParentSpanId == markerServer.SpanId && s.Attribute("db.query.text") is not null));
    }

    [Theory]
    [InlineData("low")]
    [InlineData("high")]
    public async Task A_slow_request_kept_at_ratio_0_has_its_database_spans_masked_and_without_credentials(string variant)
    {
        // Held undecided, a database span is finished only once its trace is kept: literals masked
        // and the connection string, user and password left out then, as on a sampled span.
        await using var postgres = await PostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("shop");
        await using var receiver = await OtlpReceiver.StartAsync();
        var connectionString = $"Host=127.0.0.1;Port={postgres.Port};Username=postgres;Password=HeldS3cretPassword;Database=shop;Pooling=true";
        using var app = await WebApp.StartAsync("TestApplication.Database-" + variant, AgentEnvironment.For(receiver, "db-keep-slow").With(
            ("DATABASE_URL", connectionString),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
            ("TRACEAGENT_SAMPLER_KEEP_SLOWER_THAN_MS", "1")));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(app.BaseUrl + "/db/raw")).StatusCode);

        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => IsServer(s, "/db/raw")) && all.Count(s => s.Attribute("db.system.name") as string == "postgresql") >= 2, Timeout);
        var server = Assert.Single(spans, s => IsServer(s, "/db/raw"));
        Assert.Equal("slow", server.Attribute("traceagent.sampling.reason"));
        var queries = spans.Where(s => s.TraceId == server.TraceId && s.Attribute("db.query.text") is not null).ToList();
        Assert.Contains(queries, q => q.Attribute("db.query.text") as string == "SELECT id, name FROM items WHERE name = ? ORDER BY id");
        Assert.All(spans.Where(s => s.TraceId == server.TraceId), span =>
        {
            Assert.DoesNotContain("db.connection_string", span.Attributes.Keys);
            Assert.DoesNotContain("db.user", span.Attributes.Keys);
            foreach (var value in span.Attributes.Values)
            {
                var text = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
                Assert.DoesNotContain("widget", text, StringComparison.Ordinal);
                Assert.DoesNotContain("HeldS3cretPassword", text, StringComparison.Ordinal);
            }
        });
    }
}
