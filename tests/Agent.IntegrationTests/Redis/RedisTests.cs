using System.Globalization;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Redis;

/// <summary>
/// The Redis test app against a real redis-server, at both ends of the supported StackExchange.Redis
/// range (tests/TestApplications/TestApplication.Redis/variants).
/// </summary>
public sealed class RedisTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Variants => new() { "low", "high" };

    /// <summary>Both ends of the supported range on .NET 10, and the app on .NET 8 and .NET 9.</summary>
    public static TheoryData<string> VariantsAndRuntimes => new() { "low", "high", "net8", "net9" };

    private sealed class Setup : IAsyncDisposable
    {
        public required RedisServer Redis { get; init; }

        public required OtlpReceiver Receiver { get; init; }

        public required WebApp App { get; init; }

        public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

        public static async Task<Setup> StartAsync(string variant, bool instrumented = true, params (string Key, string? Value)[] settings)
        {
            var redis = await RedisServer.StartAsync();
            var receiver = await OtlpReceiver.StartAsync();
            var environment = instrumented
                ? AgentEnvironment.For(receiver, "redis-app")
                : new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production" };
            var app = await WebApp.StartAsync("TestApplication.Redis-" + variant, environment.With(("REDIS", redis.Endpoint)).With(settings));
            return new Setup { Redis = redis, Receiver = receiver, App = app };
        }

        public async Task<string> GetAsync(string path)
        {
            using var response = await Client.GetAsync(App.BaseUrl + path);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
            return body;
        }

        /// <summary>The server span of <paramref name="path"/> and its Redis children, once at least <paramref name="children"/> arrived.</summary>
        public async Task<(ReceivedSpan Server, List<ReceivedSpan> Commands)> TraceOfAsync(string path, int children)
        {
            var spans = await Receiver.WaitForSpansAsync(
                all => all.FirstOrDefault(s => IsRequest(s, path)) is { } server && all.Count(s => s.ParentSpanId == server.SpanId) >= children,
                Timeout);
            var server = spans.First(s => IsRequest(s, path));
            return (server, spans.Where(s => s.ParentSpanId == server.SpanId).OrderBy(s => s.StartTimeUnixNano).ToList());
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            App.Dispose();
            await Receiver.DisposeAsync();
            await Redis.DisposeAsync();
        }
    }

    private static bool IsRequest(ReceivedSpan span, string path) =>
        span.Kind == SpanKinds.Server && (span.Attribute("url.path") as string) == path.Split('?')[0];

    private static void AssertRedisClientSpan(ReceivedSpan span, string command, RedisServer redis)
    {
        Assert.Equal(command, span.Name);
        Assert.Equal(SpanKinds.Client, span.Kind);
        Assert.Equal("TraceAgent.StackExchangeRedis", span.ScopeName);
        Assert.Equal("redis", span.Attribute("db.system.name"));
        Assert.Equal(command, span.Attribute("db.operation.name"));
        Assert.Equal("0", span.Attribute("db.namespace"));
        Assert.Equal("127.0.0.1", span.Attribute("server.address"));
        Assert.Equal((long)redis.Port, Convert.ToInt64(span.Attribute("server.port"), CultureInfo.InvariantCulture));
        Assert.Equal("127.0.0.1", span.Attribute("network.peer.address"));
        Assert.Equal((long)redis.Port, Convert.ToInt64(span.Attribute("network.peer.port"), CultureInfo.InvariantCulture));
    }

    private static void AssertNoKeysOrValues(IEnumerable<ReceivedSpan> spans)
    {
        foreach (var span in spans)
        {
            Assert.Null(span.Attribute("db.query.text"));
            foreach (var value in span.Attributes.Values)
            {
                var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
                Assert.DoesNotContain("greeting", text, StringComparison.Ordinal);
                Assert.DoesNotContain("secret-value", text, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [MemberData(nameof(VariantsAndRuntimes))]
    public async Task Commands_in_a_request_become_client_spans_under_its_server_span(string variant)
    {
        await using var setup = await Setup.StartAsync(variant);

        Assert.Equal("secret-value", await setup.GetAsync("/get-set"));
        var (server, commands) = await setup.TraceOfAsync("/get-set", 2);

        Assert.Equal(["SET", "GET"], commands.Select(c => c.Name));
        foreach (var command in commands)
        {
            AssertRedisClientSpan(command, command.Name, setup.Redis);
            Assert.Equal(server.TraceId, command.TraceId);
            Assert.InRange(command.StartTimeUnixNano, server.StartTimeUnixNano, server.EndTimeUnixNano);
            Assert.InRange(command.EndTimeUnixNano, command.StartTimeUnixNano, server.EndTimeUnixNano);
            Assert.NotEqual(2, command.StatusCode);
        }

        AssertNoKeysOrValues(commands);

        // A transaction is profiled by the library as its EXEC.
        Assert.Equal("committed", await setup.GetAsync("/transaction"));
        var (_, transaction) = await setup.TraceOfAsync("/transaction", 1);
        AssertRedisClientSpan(Assert.Single(transaction), "EXEC", setup.Redis);

        // A batch's commands: StackExchange.Redis 2.5.61 enqueues them past its profiler (no
        // spans), 3.4.35 profiles each. They are queued at the request's end, before a later
        // request's, so that request's arrival is the wait.
        Assert.Equal("batch", await setup.GetAsync("/batch"));
        Assert.Equal("committed", await setup.GetAsync("/transaction"));
        var spans = await setup.Receiver.WaitForSpansAsync(all => all.Count(s => IsRequest(s, "/transaction")) == 2 && all.Count(s => s.Attribute("db.system.name") as string == "redis" && s.Name == "EXEC") == 2, Timeout);
        var batch = Assert.Single(spans, s => IsRequest(s, "/batch"));
        var batched = spans.Where(s => s.TraceId == batch.TraceId && s.SpanId != batch.SpanId).OrderBy(s => s.StartTimeUnixNano).ToList();
        string[] expected = variant is "low" or "net8" ? [] : ["SET", "SET", "MGET"];
        Assert.Equal(expected, batched.Select(s => s.Name));
        Assert.All(batched, s =>
        {
            AssertRedisClientSpan(s, s.Name, setup.Redis);
            Assert.Equal(batch.SpanId, s.ParentSpanId);
        });
        AssertNoKeysOrValues(batched);
    }

    /// <summary>
    /// The commands of a sampled request become spans in the request's stop callback. Restoring the
    /// stopped request there as the current Activity made the runtime throw and catch an exception
    /// per request, which every first-chance handler of the app (debuggers, APMs) saw.
    /// </summary>
    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Tracing_a_request_throws_no_exception_in_the_app(string variant)
    {
        await using var setup = await Setup.StartAsync(variant);
        await setup.GetAsync("/get-set");
        await setup.TraceOfAsync("/get-set", 2);
        var before = await setup.GetAsync("/first-chance");

        const int Requests = 10;
        for (var i = 0; i < Requests; i++)
        {
            Assert.Equal("secret-value", await setup.GetAsync("/get-set"));
        }

        // Every request's command spans arrived: the callbacks that make them have run.
        await setup.Receiver.WaitForSpansAsync(
            all => all.Count(s => IsRequest(s, "/get-set") && all.Count(c => c.ParentSpanId == s.SpanId) == 2) == Requests + 1,
            Timeout);
        var after = await setup.GetAsync("/first-chance");

        Assert.True(Count(before) == Count(after), $"first-chance exceptions before the requests: {before}; after: {after}");

        static long Count(string answer) => long.Parse(answer.Split(' ')[0], CultureInfo.InvariantCulture);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task A_blocking_command_span_lasts_as_long_as_the_server_blocked(string variant)
    {
        await using var setup = await Setup.StartAsync(variant);

        await setup.GetAsync("/blocking");
        var (server, commands) = await setup.TraceOfAsync("/blocking", 2);

        var blpop = Assert.Single(commands, c => c.Name == "BLPOP");
        AssertRedisClientSpan(blpop, "BLPOP", setup.Redis);
        Assert.True(blpop.Duration >= TimeSpan.FromMilliseconds(300), $"BLPOP lasted {blpop.Duration}");
        Assert.InRange(blpop.StartTimeUnixNano, server.StartTimeUnixNano, server.EndTimeUnixNano);
        Assert.InRange(blpop.EndTimeUnixNano, blpop.StartTimeUnixNano, server.EndTimeUnixNano);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task A_server_error_reply_marks_its_command_span_as_an_error(string variant)
    {
        await using var setup = await Setup.StartAsync(variant);

        Assert.StartsWith("error: ERR", await setup.GetAsync("/failing"), StringComparison.Ordinal);
        var (_, commands) = await setup.TraceOfAsync("/failing", 2);

        var set = Assert.Single(commands, c => c.Name == "SET");
        var incr = Assert.Single(commands, c => c.Name == "INCR");
        Assert.Equal(2, incr.StatusCode);
        Assert.Equal("ERR", incr.Attribute("error.type"));
        Assert.Equal("ERR", incr.Attribute("db.response.status_code"));
        Assert.NotEqual(2, set.StatusCode);
        Assert.Null(set.Attribute("error.type"));
    }

    /// <summary>
    /// With OTLP as the only exporter a sampled request's command spans are written with no Activity
    /// (docs/instrumentations/redis.md); with any other set of exporters each is an Activity. The
    /// collector must not be able to tell: the same request, with keys captured and a failing
    /// command, arrives the same both ways (ids, times and the server's port aside).
    /// </summary>
    [Fact]
    public async Task Command_spans_written_directly_and_through_an_Activity_arrive_the_same()
    {
        async Task<List<string>> TraceAsync(string exporters)
        {
            await using var setup = await Setup.StartAsync("high", instrumented: true, ("TRACEAGENT_REDIS_CAPTURE_KEYS", "true"), ("OTEL_TRACES_EXPORTER", exporters));
            Assert.StartsWith("error: ERR", await setup.GetAsync("/failing"), StringComparison.Ordinal);
            var (server, commands) = await setup.TraceOfAsync("/failing", 2);

            // The request is a root: sampled, a trace id made at random (W3C level 2's 0x02), not
            // remote. Its commands are children made after it ended, from its context alone, and
            // say the same.
            Assert.Equal(0x103u, server.Flags);
            Assert.All(commands, c => Assert.Equal(server.Flags, c.Flags));
            return [.. commands.Select(c => (c.TraceId == server.TraceId) + " | " + Describe(c, setup.Redis))];
        }

        var direct = await TraceAsync("otlp");
        var throughActivity = await TraceAsync("otlp,console");

        Assert.Equal(2, direct.Count);
        Assert.Contains(direct, d => d.Contains("INCR | 3 |", StringComparison.Ordinal) && d.Contains("| 2 | ERR |", StringComparison.Ordinal) && d.Contains("db.query.text=INCR not:a:number", StringComparison.Ordinal));
        Assert.Equal(throughActivity, direct);
    }

    /// <summary>
    /// A command with no current Activity is a root span of its own: with OTLP as the only exporter
    /// it is decided as the sampler would decide its Activity and written with none (an
    /// ActivityListener of the app's own on the agent's source sees no Activity for it). The
    /// collector receives the same span either way.
    /// </summary>
    [Fact]
    public async Task A_root_command_span_written_directly_and_through_an_Activity_arrives_the_same()
    {
        async Task<(string Span, long AppSawActivities)> RootAsync(string exporters)
        {
            await using var setup = await Setup.StartAsync("high", instrumented: true, ("TRACEAGENT_REDIS_CAPTURE_KEYS", "true"), ("OTEL_TRACES_EXPORTER", exporters), ("REDIS_APP_LISTENER", "1"));
            await setup.GetAsync("/background");
            var spans = await setup.Receiver.WaitForSpansAsync(all => all.Any(s => s.Name == "SET" && s.IsRoot), Timeout);
            var root = spans.First(s => s.Name == "SET" && s.IsRoot);

            // Sampled, a trace id made at random (W3C level 2's 0x02), not remote; alone in its trace.
            Assert.Equal(0x103u, root.Flags);
            Assert.DoesNotContain(spans, s => s.TraceId == root.TraceId && s.SpanId != root.SpanId);
            return (Describe(root, setup.Redis), long.Parse(await setup.GetAsync("/redis-activities"), CultureInfo.InvariantCulture));
        }

        var direct = await RootAsync("otlp");
        var throughActivity = await RootAsync("otlp,console");

        Assert.Equal(0, direct.AppSawActivities);
        Assert.True(throughActivity.AppSawActivities >= 1, $"the app's listener saw {throughActivity.AppSawActivities} Activities with the console exporter on");
        Assert.Contains("db.query.text=SET background:key", direct.Span, StringComparison.Ordinal);
        Assert.Equal(throughActivity.Span, direct.Span);
    }

    // What a command span carries, for comparing two spans of the same command; the port, which
    // differs from one redis-server to the next, as "port".
    private static string Describe(ReceivedSpan c, RedisServer redis)
    {
        var port = redis.Port.ToString(CultureInfo.InvariantCulture);
        return string.Join(
            " | ",
            c.Name,
            c.Kind,
            c.ScopeName,
            c.ScopeVersion,
            c.Flags,
            c.StatusCode,
            c.StatusMessage,
            c.DroppedAttributesCount,
            string.Join(",", c.Attributes.Select(a => a.Key + "=" + (Convert.ToString(a.Value, CultureInfo.InvariantCulture) == port ? "port" : a.Value) + ":" + a.Value?.GetType().Name)));
    }

    [Fact]
    public async Task At_ratio_0_a_slow_request_is_kept_with_its_command_spans_and_an_error_reply_alone_keeps_nothing()
    {
        await using var setup = await Setup.StartAsync(
            "high",
            instrumented: true,
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
            ("TRACEAGENT_SAMPLER_KEEP_ERRORS", "true"),
            ("TRACEAGENT_SAMPLER_KEEP_SLOWER_THAN_MS", "250"));

        async Task<string> SampledAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, setup.App.BaseUrl + path);
            request.Headers.Add("traceparent", TraceParents.NewSampled());
            using var response = await setup.Client.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, path);
            return (await response.Content.ReadAsStringAsync()).Trim();
        }

        // First calls pay for the JIT and could pass the threshold: made in traces sampled upstream.
        for (var i = 0; i < 3; i++)
        {
            await SampledAsync("/get-set");
            await SampledAsync("/failing");
        }

        Assert.Equal("blocked", await setup.GetAsync("/blocking"));
        Assert.StartsWith("error: ERR", await setup.GetAsync("/failing"), StringComparison.Ordinal);
        Assert.Equal("secret-value", await setup.GetAsync("/get-set"));

        // A last request sampled upstream: its command spans are drained after everything above.
        await SampledAsync("/many?count=1");
        var spans = await setup.Receiver.WaitForSpansAsync(
            all => all.FirstOrDefault(s => IsRequest(s, "/many")) is { } marker && all.Any(s => s.ParentSpanId == marker.SpanId),
            Timeout);

        // The slow request arrives with the spans of its commands, made after it ended.
        var blocking = Assert.Single(spans, s => IsRequest(s, "/blocking"));
        Assert.Equal("slow", blocking.Attribute("traceagent.sampling.reason"));
        var commands = spans.Where(s => s.ParentSpanId == blocking.SpanId).ToList();
        Assert.Contains(commands, c => c.Name == "BLPOP");
        Assert.All(commands, c => AssertRedisClientSpan(c, c.Name, setup.Redis));

        // The error reply is only on a command span that ends after its request: nothing is kept.
        var kept = spans.Where(s => s.Kind == SpanKinds.Server && (s.Attribute("traceagent.sampling.reason") as string) != "parent").ToList();
        Assert.Equal([blocking.SpanId], kept.Select(s => s.SpanId));
        Assert.DoesNotContain(spans, s => s.ScopeName == "TraceAgent.StackExchangeRedis" && s.StatusCode == 2 && !spans.Any(p => p.SpanId == s.ParentSpanId && (p.Attribute("traceagent.sampling.reason") as string) == "parent"));
    }

    [Theory]
    [InlineData("low", false)]
    [InlineData("high", false)]
    [InlineData("low", true)]
    [InlineData("high", true)]
    public async Task A_timed_out_command_is_marked_by_name_with_the_exception_type(string variant, bool awaited)
    {
        await using var setup = await Setup.StartAsync(variant);
        var answer = await setup.GetAsync("/timeout?wait=" + (awaited ? "true" : "false"));
        Assert.StartsWith(awaited ? "timeout: Timeout awaiting response" : "timeout: Timeout performing GET", answer, StringComparison.Ordinal);

        // The GET completes when the pause ends, after its request: its span comes from a later drain.
        var spans = await setup.Receiver.WaitForSpansAsync(
            all => all.FirstOrDefault(s => IsRequest(s, "/timeout")) is { } server && all.Any(s => s.ParentSpanId == server.SpanId && s.Name == "GET"),
            Timeout);
        var request = spans.Single(s => IsRequest(s, "/timeout"));
        var get = spans.Single(s => s.ParentSpanId == request.SpanId && s.Name == "GET");
        Assert.Equal(2, get.StatusCode);
        Assert.Equal("StackExchange.Redis.RedisTimeoutException", get.Attribute("error.type"));

        // The pause itself, on another connection of the same request, succeeded.
        var pause = spans.Single(s => s.ParentSpanId == request.SpanId && s.Name == "CLIENT");
        Assert.NotEqual(2, pause.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task A_connection_claimed_by_the_apps_own_options_provider_is_left_to_it_and_said_once(string variant)
    {
        await using var setup = await Setup.StartAsync(variant);
        Assert.Equal("provider LocalhostProvider", await setup.GetAsync("/own-provider"));
        await setup.App.Process.WaitForOutputAsync("Redis: the app registered options provider LocalhostProvider; connections to endpoints it claims are not traced by the agent", Timeout);

        // The connection to 127.0.0.1 is still traced; the one the app's provider claimed made no span.
        Assert.Single(await OnlyTheAppsFirstConnectionTracedAsync(setup, "/own-provider"));
        Assert.Single(setup.App.Process.StandardError, l => l.Contains("registered options provider", StringComparison.Ordinal));
    }

    /// <summary>
    /// Runs a request on the app's first connection and checks its command spans; by then the
    /// requests to <paramref name="path"/> (on a connection the agent left) have arrived, with no
    /// command span under them. Returns those requests' spans.
    /// </summary>
    private static async Task<List<ReceivedSpan>> OnlyTheAppsFirstConnectionTracedAsync(Setup setup, string path)
    {
        await setup.GetAsync("/get-set");
        var (_, commands) = await setup.TraceOfAsync("/get-set", 2);
        Assert.Equal(["SET", "GET"], commands.Select(c => c.Name));
        var spans = setup.Receiver.Spans;
        var left = spans.Where(s => IsRequest(s, path)).ToList();
        Assert.DoesNotContain(spans, s => s.ScopeName == "TraceAgent.StackExchangeRedis" && left.Any(r => r.SpanId == s.ParentSpanId));
        return left;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task A_connection_with_the_apps_own_profiler_is_left_to_it_and_said_once(string variant)
    {
        await using var setup = await Setup.StartAsync(variant);

        // The app's profiler gets its command, twice over two requests; the agent makes no span of them.
        Assert.Equal("own profiler saw 1", await setup.GetAsync("/own-profiler"));
        Assert.Equal("own profiler saw 1", await setup.GetAsync("/own-profiler"));
        await setup.App.Process.WaitForOutputAsync("Redis: the app registered its own profiler on the connection to", Timeout);

        // The app's first connection is still traced: its commands arrive after the others would have.
        Assert.Equal(2, (await OnlyTheAppsFirstConnectionTracedAsync(setup, "/own-profiler")).Count);
        Assert.Single(setup.App.Process.StandardError, l => l.Contains("registered its own profiler", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(VariantsAndRuntimes))]
    public async Task A_command_with_no_request_around_it_becomes_a_root_span(string variant)
    {
        await using var setup = await Setup.StartAsync(variant);

        await setup.GetAsync("/background");
        var spans = await setup.Receiver.WaitForSpansAsync(all => all.Any(s => s.Name == "SET" && s.IsRoot), Timeout);

        var background = spans.First(s => s.Name == "SET" && s.IsRoot);
        AssertRedisClientSpan(background, "SET", setup.Redis);
        Assert.DoesNotContain(spans, s => s.TraceId == background.TraceId && s.SpanId != background.SpanId);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Keys_are_recorded_only_with_the_opt_in_and_values_never(string variant)
    {
        await using var setup = await Setup.StartAsync(variant, instrumented: true, ("TRACEAGENT_REDIS_CAPTURE_KEYS", "true"));

        await setup.GetAsync("/get-set");
        var (_, commands) = await setup.TraceOfAsync("/get-set", 2);

        Assert.Equal("SET greeting", commands.Single(c => c.Name == "SET").Attribute("db.query.text"));
        Assert.Equal("GET greeting", commands.Single(c => c.Name == "GET").Attribute("db.query.text"));
        Assert.DoesNotContain(commands.SelectMany(c => c.Attributes.Values), v => (Convert.ToString(v, CultureInfo.InvariantCulture) ?? "").Contains("secret-value", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Cloud_providers_defaults_are_the_same_with_and_without_the_agent(string variant)
    {
        string instrumented;
        await using (var setup = await Setup.StartAsync(variant))
        {
            instrumented = await setup.GetAsync("/cloud-options");
        }

        string plain;
        await using (var setup = await Setup.StartAsync(variant, instrumented: false))
        {
            plain = await setup.GetAsync("/cloud-options");
        }

        // The check itself must see the Azure provider's defaults, or the comparison proves nothing.
        Assert.Contains("x.redis.cache.windows.net:6380 => ssl=True abort=False", plain, StringComparison.Ordinal);
        Assert.Contains("azure=True", plain, StringComparison.Ordinal);
        Assert.Equal(plain, instrumented);
    }

    [Theory]
    [InlineData("low")]
    [InlineData("high")]
    public async Task A_request_still_running_after_512_commands_has_their_spans_exported_before_it_ends(string variant)
    {
        await using var setup = await Setup.StartAsync(variant);
        var request = setup.GetAsync("/held?count=600");

        // Drained once 512 commands were issued (those complete then: the first 511, the 512th
        // still in flight), so the open request holds at most 512 and at least 600 - 512 spans
        // arrive while it is held, all under its span, which has not ended. Waited for less than
        // the 30 s after which the once-a-second round would drain an idle session anyway.
        var early = await setup.Receiver.WaitForSpansAsync(all => all.Count(s => s.Name == "SET") >= 600 - 512, TimeSpan.FromSeconds(20));
        Assert.False(request.IsCompleted);
        Assert.DoesNotContain(early, s => IsRequest(s, "/held"));
        var parent = Assert.Single(early.Where(s => s.Name == "SET").Select(s => s.ParentSpanId).Distinct());

        Assert.Equal("releasing", await setup.GetAsync("/release"));
        Assert.Equal("released", await request);
        var (server, commands) = await setup.TraceOfAsync("/held", 600);
        Assert.Equal(parent, server.SpanId);
        Assert.Equal(600, commands.Count(c => c.Name == "SET"));
        Assert.Equal(600, commands.Select(c => c.SpanId).Distinct().Count());
    }

    [Fact]
    public async Task Many_commands_leave_no_growing_heap_behind()
    {
        await using var setup = await Setup.StartAsync("high");

        // Baseline after warming up every path the load below takes.
        for (var i = 0; i < 20; i++)
        {
            await setup.GetAsync("/many?count=10");
        }

        var baseline = long.Parse(await setup.GetAsync("/heap"), NumberStyles.Integer, CultureInfo.InvariantCulture);

        // 2,000 requests of 10 commands each, 8 at a time.
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= 2000)
            {
                await setup.GetAsync("/many?count=10");
            }
        }));
        await setup.Receiver.WaitForSpansAsync(all => all.Count(s => s.Name == "SET") >= 20_000, Timeout);

        // Observed: about +1 MB. 20,000 leaked sessions, commands or activities would be several MB more.
        var after = long.Parse(await setup.GetAsync("/heap"), NumberStyles.Integer, CultureInfo.InvariantCulture);
        Assert.True(after < baseline + (4L << 20), $"heap grew from {baseline} to {after} bytes after 20,000 commands");
    }
}
