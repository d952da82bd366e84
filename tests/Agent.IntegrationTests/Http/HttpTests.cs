using System.Net;
using System.Text.Json;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Http;

/// <summary>Two instances of the test web app, front calling back through HttpClient, both under the agent.</summary>
public sealed class HttpTests
{
    private const string App = "TestApplication.Web";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private sealed class Pair : IAsyncDisposable
    {
        public required OtlpReceiver Receiver { get; init; }

        public required WebApp Back { get; init; }

        public required WebApp Front { get; init; }

        public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

        public static Task<Pair> StartAsync(params (string Key, string? Value)[] settings) => StartOnAsync(TestRuntimes.Default, settings);

        /// <summary>Both services on one runtime (TestRuntimes): the same scenario must give the same spans on each.</summary>
        public static async Task<Pair> StartOnAsync(string runtime, params (string Key, string? Value)[] settings)
        {
            var receiver = await OtlpReceiver.StartAsync();
            var app = TestRuntimes.App(App, runtime);
            var back = await WebApp.StartAsync(app, AgentEnvironment.For(receiver, "back").With(settings));
            var front = await WebApp.StartAsync(app, AgentEnvironment.For(receiver, "front").With(settings).With(("BACKEND_URL", back.BaseUrl)));
            return new Pair { Receiver = receiver, Back = back, Front = front };
        }

        public async Task<(HttpStatusCode Status, string Body)> GetAsync(string path, params (string Name, string Value)[] headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Front.BaseUrl + path);
            request.Headers.UserAgent.ParseAdd("http-tests/1.0");
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await Client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        public Task<IReadOnlyList<ReceivedSpan>> WaitForTraceAsync(Func<ReceivedSpan, bool> root, int spans) =>
            Receiver.WaitForSpansAsync(
                all => all.FirstOrDefault(root) is { } r && all.Count(s => s.TraceId == r.TraceId) >= spans,
                Timeout);

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            Front.Dispose();
            Back.Dispose();
            await Receiver.DisposeAsync();
        }
    }

    private static bool IsRequest(ReceivedSpan span, string service, string path) =>
        span.ServiceName == service && span.Kind == SpanKinds.Server && (span.Attribute("url.path") as string) == path;

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task A_request_across_two_services_is_one_trace_with_semantic_convention_attributes(string runtime)
    {
        await using var pair = await Pair.StartOnAsync(runtime);
        var (status, _) = await pair.GetAsync("/front?q=secret-query-value");
        Assert.Equal(HttpStatusCode.OK, status);

        var spans = await pair.WaitForTraceAsync(s => IsRequest(s, "front", "/front"), 3);
        var frontServer = spans.Single(s => IsRequest(s, "front", "/front"));
        var trace = spans.Where(s => s.TraceId == frontServer.TraceId).ToList();
        Assert.Equal(3, trace.Count);
        var client = trace.Single(s => s.Kind == SpanKinds.Client);
        var backServer = trace.Single(s => s.ServiceName == "back");

        // Each service really ran on the runtime under test.
        Assert.All(trace, s => Assert.StartsWith(TestRuntimes.Major(runtime) + ".", s.ResourceAttributes["process.runtime.version"] as string, StringComparison.Ordinal));
        Assert.True(frontServer.IsRoot);
        Assert.Equal(frontServer.SpanId, client.ParentSpanId);
        Assert.Equal(client.SpanId, backServer.ParentSpanId);
        Assert.Equal("front", client.ServiceName);

        Assert.Equal("GET /front", frontServer.Name);
        Assert.Equal("GET", frontServer.Attribute("http.request.method"));
        Assert.Equal("http", frontServer.Attribute("url.scheme"));
        Assert.Equal("/front", frontServer.Attribute("http.route"));
        Assert.Equal("q=REDACTED", frontServer.Attribute("url.query"));
        Assert.Equal(200L, frontServer.Attribute("http.response.status_code"));
        Assert.Equal("127.0.0.1", frontServer.Attribute("server.address"));
        Assert.Equal((long)pair.Front.Port, frontServer.Attribute("server.port"));
        Assert.Equal("127.0.0.1", frontServer.Attribute("client.address"));
        Assert.Equal("http-tests/1.0", frontServer.Attribute("user_agent.original"));
        Assert.Equal("1.1", frontServer.Attribute("network.protocol.version"));
        Assert.Equal(0, frontServer.StatusCode);

        Assert.Equal("GET", client.Name);
        Assert.Equal("GET", client.Attribute("http.request.method"));
        // No sampling policy is set: no span says why it was kept.
        Assert.All(trace, s => Assert.Null(s.Attribute("traceagent.sampling.reason")));

        // The query as the runtime's own redaction leaves it (.NET 9 and later; the agent writes the same on .NET 8).
        Assert.Equal(pair.Back.BaseUrl + "/items/7?*", client.Attribute("url.full"));
        Assert.Equal("127.0.0.1", client.Attribute("server.address"));
        Assert.Equal((long)pair.Back.Port, client.Attribute("server.port"));
        Assert.Equal(200L, client.Attribute("http.response.status_code"));
        Assert.Equal("1.1", client.Attribute("network.protocol.version"));
        Assert.Equal(0, client.StatusCode);
        Assert.Null(client.Attribute("error.type"));

        Assert.Equal("GET /items/{id:int}", backServer.Name);
        Assert.Equal("/items/{id:int}", backServer.Attribute("http.route"));
        Assert.Equal("token=REDACTED", backServer.Attribute("url.query"));

        Assert.True(client.StartTimeUnixNano >= frontServer.StartTimeUnixNano && client.EndTimeUnixNano <= frontServer.EndTimeUnixNano);
    }

    [Fact]
    public async Task Server_spans_are_the_same_whether_their_attributes_are_written_as_they_end_or_set_on_the_activity()
    {
        // With OTLP as the only exporter a sampled server span's attributes are written into its
        // encoding as it ends; with a second exporter they are set on its Activity, which every
        // exporter reads. The same requests must make the same spans either way.
        var seen = new List<Dictionary<string, string>>();
        foreach (var exporters in new[] { "otlp", "otlp,console" })
        {
            await using var pair = await Pair.StartAsync(
                ("OTEL_TRACES_EXPORTER", exporters),
                ("OTEL_DOTNET_AUTO_TRACES_ASPNETCORE_INSTRUMENTATION_CAPTURE_REQUEST_HEADERS", "X-Request-Id"),
                ("OTEL_DOTNET_AUTO_TRACES_ASPNETCORE_INSTRUMENTATION_CAPTURE_RESPONSE_HEADERS", "Content-Type"));
            Assert.Equal(HttpStatusCode.OK, (await pair.GetAsync("/front?q=v", ("X-Request-Id", "req-7"))).Status);
            Assert.Equal(HttpStatusCode.InternalServerError, (await pair.GetAsync("/throw")).Status);
            string[] names = ["back GET /items/{id:int}", "front GET /front", "front GET /throw"];
            var spans = await pair.Receiver.WaitForSpansAsync(
                all => names.All(n => all.Any(s => s.ServiceName + " " + s.Name == n)),
                Timeout);

            var described = new Dictionary<string, string>();
            foreach (var span in spans.Where(s => names.Contains(s.ServiceName + " " + s.Name)))
            {
                var port = span.ServiceName == "front" ? pair.Front.Port : pair.Back.Port;
                Assert.Equal((long)port, span.Attribute("server.port"));
                var attributes = span.Attributes
                    .Where(a => a.Key != "server.port")
                    .OrderBy(a => a.Key, StringComparer.Ordinal)
                    .Select(a => a.Key + "=" + (a.Value is object?[] array ? "[" + string.Join(",", array) + "]" : Convert.ToString(a.Value, System.Globalization.CultureInfo.InvariantCulture)));
                described[span.ServiceName + " " + span.Name] = $"status {span.StatusCode}; events {string.Join(",", span.Events.Select(e => e.Name))}; dropped {span.DroppedAttributesCount}; " + string.Join("; ", attributes);
            }

            seen.Add(described);
        }

        Assert.Equal(seen[1], seen[0]);
        Assert.Equal(["back GET /items/{id:int}", "front GET /front", "front GET /throw"], seen[0].Keys.Order(StringComparer.Ordinal));
        Assert.Contains("http.request.header.x-request-id=[req-7]", seen[0]["front GET /front"], StringComparison.Ordinal);
        Assert.Contains("http.response.status_code=500", seen[0]["front GET /throw"], StringComparison.Ordinal);
        Assert.StartsWith("status 2; events exception;", seen[0]["front GET /throw"], StringComparison.Ordinal);
        Assert.Contains("error.type=System.InvalidOperationException", seen[0]["front GET /throw"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_route_served_for_several_methods_names_each_span_by_its_own_method()
    {
        await using var pair = await Pair.StartAsync();
        foreach (var (method, id) in new[] { ("GET", 1), ("POST", 2), ("PURGE", 3), ("GET", 4), ("PURGE", 5), ("POST", 6) })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), pair.Front.BaseUrl + "/any/" + id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var response = await pair.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The readiness probe of the start makes a front server span too: count only the six requests.
        static bool IsAny(ReceivedSpan s) => s.ServiceName == "front" && s.Kind == SpanKinds.Server && ((s.Attribute("url.path") as string)?.StartsWith("/any/", StringComparison.Ordinal) ?? false);
        var spans = await pair.Receiver.WaitForSpansAsync(all => all.Count(IsAny) >= 6, Timeout);
        var byPath = spans.Where(IsAny).ToDictionary(s => (string)s.Attribute("url.path")!);
        foreach (var (path, name, method) in new[]
        {
            ("/any/1", "GET /any/{id:int}", "GET"), ("/any/4", "GET /any/{id:int}", "GET"),
            ("/any/2", "POST /any/{id:int}", "POST"), ("/any/6", "POST /any/{id:int}", "POST"),
            ("/any/3", "HTTP /any/{id:int}", "_OTHER"), ("/any/5", "HTTP /any/{id:int}", "_OTHER"),
        })
        {
            Assert.Equal(name, byPath[path].Name);
            Assert.Equal("/any/{id:int}", byPath[path].Attribute("http.route"));
            Assert.Equal(method, byPath[path].Attribute("http.request.method"));
            Assert.Equal(method == "_OTHER" ? "PURGE" : null, byPath[path].Attribute("http.request.method_original"));
        }
    }

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task Errors_get_the_right_status_and_error_type(string runtime)
    {
        await using var pair = await Pair.StartOnAsync(runtime);
        Assert.Equal(HttpStatusCode.NotFound, (await pair.GetAsync("/status/404")).Status);
        Assert.Equal(HttpStatusCode.InternalServerError, (await pair.GetAsync("/status/500")).Status);
        Assert.Equal(HttpStatusCode.InternalServerError, (await pair.GetAsync("/throw")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await pair.GetAsync("/front?path=/status/404")).Status);
        Assert.Equal(HttpStatusCode.BadGateway, (await pair.GetAsync("/call-refused")).Status);
        Assert.Equal(HttpStatusCode.GatewayTimeout, (await pair.GetAsync("/call-timeout")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await pair.GetAsync("/no/such/route")).Status);

        var spans = await pair.Receiver.WaitForSpansAsync(
            all => new[] { "/status/404", "/status/500", "/throw", "/front", "/call-refused", "/call-timeout", "/no/such/route" }.All(p => all.Any(s => IsRequest(s, "front", p)))
                && all.Count(s => s.Kind == SpanKinds.Client) >= 3,
            Timeout);

        var notFound = spans.Single(s => IsRequest(s, "front", "/status/404"));
        Assert.Equal(404L, notFound.Attribute("http.response.status_code"));
        Assert.Equal(0, notFound.StatusCode); // 4xx is the client's error, not the server's
        Assert.Null(notFound.Attribute("error.type"));

        var serverError = spans.Single(s => IsRequest(s, "front", "/status/500"));
        Assert.Equal(2, serverError.StatusCode);
        Assert.Equal("500", serverError.Attribute("error.type"));

        var thrown = spans.Single(s => IsRequest(s, "front", "/throw"));
        Assert.Equal(2, thrown.StatusCode);
        Assert.Equal("System.InvalidOperationException", thrown.Attribute("error.type"));
        var exception = Assert.Single(thrown.Events, e => e.Name == "exception");
        Assert.Equal("System.InvalidOperationException", exception.Attributes["exception.type"]);
        Assert.Equal("boom from the test app", exception.Attributes["exception.message"]);

        var unrouted = spans.Single(s => IsRequest(s, "front", "/no/such/route"));
        Assert.Equal("GET", unrouted.Name);
        Assert.Null(unrouted.Attribute("http.route"));

        var client404 = spans.Single(s => s.Kind == SpanKinds.Client && (s.Attribute("url.full") as string ?? string.Empty).EndsWith("/status/404", StringComparison.Ordinal));
        Assert.Equal(2, client404.StatusCode);
        Assert.Equal("404", client404.Attribute("error.type"));

        var refused = spans.Single(s => s.Kind == SpanKinds.Client && (s.Attribute("url.full") as string ?? string.Empty).Contains(":1/nothing", StringComparison.Ordinal));
        Assert.Equal(2, refused.StatusCode);
        Assert.Equal("connection_error", refused.Attribute("error.type"));
        Assert.Null(refused.Attribute("http.response.status_code"));
        var refusal = Assert.Single(refused.Events, e => e.Name == "exception");
        Assert.Equal("System.Net.Http.HttpRequestException", refusal.Attributes["exception.type"]);

        // The same on every runtime: .NET 10 records these itself; on 8 and 9 the agent adds them.
        var timedOut = spans.Single(s => s.Kind == SpanKinds.Client && (s.Attribute("url.full") as string ?? string.Empty).EndsWith("/slow/3000", StringComparison.Ordinal));
        Assert.Equal(2, timedOut.StatusCode);
        Assert.Equal("System.Threading.Tasks.TaskCanceledException", timedOut.Attribute("error.type"));
    }

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task An_incoming_traceparent_is_continued_sampled_or_not(string runtime)
    {
        await using var pair = await Pair.StartOnAsync(runtime);
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        const string ParentId = "00f067aa0ba902b7";
        var (_, body) = await pair.GetAsync("/front?path=/echo-headers", ("traceparent", $"00-{TraceId}-{ParentId}-01"), ("tracestate", "vendor=value"));
        var spans = await pair.WaitForTraceAsync(s => IsRequest(s, "front", "/front"), 3);
        var frontServer = spans.Single(s => IsRequest(s, "front", "/front"));
        Assert.Equal(TraceId, frontServer.TraceId);
        Assert.Equal(ParentId, frontServer.ParentSpanId);
        Assert.Equal("vendor=value", frontServer.TraceState);
        var headers = JsonSerializer.Deserialize<Dictionary<string, string[]>>(body)!;
        Assert.StartsWith($"00-{TraceId}-", Assert.Single(headers["traceparent"]), StringComparison.Ordinal);
        Assert.EndsWith("-01", headers["traceparent"][0], StringComparison.Ordinal);
        Assert.Equal("vendor=value", Assert.Single(headers["tracestate"]));

        const string Unsampled = "0af7651916cd43dd8448eb211c80319c";
        var (_, unsampledBody) = await pair.GetAsync("/front?path=/echo-headers", ("traceparent", $"00-{Unsampled}-b7ad6b7169203331-00"));
        var unsampledHeaders = JsonSerializer.Deserialize<Dictionary<string, string[]>>(unsampledBody)!;
        Assert.StartsWith($"00-{Unsampled}-", unsampledHeaders["traceparent"][0], StringComparison.Ordinal);
        Assert.EndsWith("-00", unsampledHeaders["traceparent"][0], StringComparison.Ordinal);

        // A later sampled request is exported; the unsampled one before it never is.
        await pair.GetAsync("/hello");
        await pair.Receiver.WaitForSpansAsync(all => all.Any(s => IsRequest(s, "front", "/hello")), Timeout);
        Assert.DoesNotContain(pair.Receiver.Spans, s => s.TraceId == Unsampled);

        // An invalid traceparent is ignored: a new trace starts.
        await pair.GetAsync("/hello", ("traceparent", $"00-{TraceId.ToUpperInvariant()}-{ParentId}-01"));
        var fresh = await pair.Receiver.WaitForSpansAsync(all => all.Count(s => IsRequest(s, "front", "/hello")) >= 2, Timeout);
        var second = fresh.Where(s => IsRequest(s, "front", "/hello")).OrderBy(s => s.StartTimeUnixNano).Last();
        Assert.True(second.IsRoot);
        Assert.NotEqual(TraceId, second.TraceId);
    }

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task Baggage_passes_through_both_services_and_headers_are_injected_once(string runtime)
    {
        await using var pair = await Pair.StartOnAsync(runtime);
        var (_, baggage) = await pair.GetAsync("/front?path=/baggage", ("baggage", "user.tier=gold,region=eu%20west"));
        Assert.Equal("user.tier=gold,region=eu west", string.Join(",", baggage.Split(',').Order(StringComparer.Ordinal).Reverse()));

        var (_, body) = await pair.GetAsync("/front?path=/echo-headers", ("baggage", "k=v"));
        var headers = JsonSerializer.Deserialize<Dictionary<string, string[]>>(body)!;
        Assert.Single(headers["traceparent"]);
        Assert.DoesNotContain(',', headers["traceparent"][0]);
        Assert.Equal("k=v", Assert.Single(headers["baggage"]));
        Assert.False(headers.ContainsKey("request-id"));
    }

    [Theory]
    [InlineData("b3")]
    [InlineData("b3multi")]
    public async Task B3_propagation_works_end_to_end(string propagator)
    {
        await using var pair = await Pair.StartAsync(("OTEL_PROPAGATORS", propagator));
        const string TraceId = "80f198ee56343ba864fe8b2a57d3eff7";
        const string SpanId = "e457b5a2e4d86bd1";
        var incoming = propagator == "b3"
            ? new[] { ("b3", $"{TraceId}-{SpanId}-1") }
            : [("X-B3-TraceId", TraceId), ("X-B3-SpanId", SpanId), ("X-B3-Sampled", "1")];
        var (_, body) = await pair.GetAsync("/front?path=/echo-headers", incoming);
        var spans = await pair.WaitForTraceAsync(s => IsRequest(s, "front", "/front"), 3);
        var frontServer = spans.Single(s => IsRequest(s, "front", "/front"));
        Assert.Equal(TraceId, frontServer.TraceId);
        Assert.Equal(SpanId, frontServer.ParentSpanId);
        var backServer = spans.Single(s => s.TraceId == TraceId && s.ServiceName == "back");
        var client = spans.Single(s => s.TraceId == TraceId && s.Kind == SpanKinds.Client);
        Assert.Equal(client.SpanId, backServer.ParentSpanId);

        var headers = JsonSerializer.Deserialize<Dictionary<string, string[]>>(body)!;
        Assert.False(headers.ContainsKey("traceparent"));
        if (propagator == "b3")
        {
            Assert.Equal($"{TraceId}-{client.SpanId}-1", Assert.Single(headers["b3"]));
        }
        else
        {
            Assert.Equal(TraceId, Assert.Single(headers["x-b3-traceid"]));
            Assert.Equal(client.SpanId, Assert.Single(headers["x-b3-spanid"]));
            Assert.Equal("1", Assert.Single(headers["x-b3-sampled"]));
        }
    }

    [Fact]
    public async Task With_propagators_none_nothing_is_read_or_sent_and_each_service_starts_its_own_trace()
    {
        await using var pair = await Pair.StartAsync(("OTEL_PROPAGATORS", "none"));
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        var (_, body) = await pair.GetAsync("/front?path=/echo-headers", ("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01"), ("baggage", "k=v"));
        var spans = await pair.Receiver.WaitForSpansAsync(all => all.Any(s => IsRequest(s, "front", "/front")) && all.Any(s => IsRequest(s, "back", "/echo-headers")), Timeout);

        // The incoming context is ignored, and the call carries none: the back starts a trace too.
        var frontServer = spans.Single(s => IsRequest(s, "front", "/front"));
        var backServer = spans.Single(s => IsRequest(s, "back", "/echo-headers"));
        Assert.True(frontServer.IsRoot);
        Assert.NotEqual(TraceId, frontServer.TraceId);
        Assert.True(backServer.IsRoot);
        Assert.NotEqual(frontServer.TraceId, backServer.TraceId);
        var headers = JsonSerializer.Deserialize<Dictionary<string, string[]>>(body)!;
        Assert.DoesNotContain(headers.Keys, k => k is "traceparent" or "tracestate" or "baggage" or "b3" or "request-id" || k.StartsWith("x-b3-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Filters_headers_and_redaction_follow_the_settings()
    {
        await using var pair = await Pair.StartAsync(
            ("TRACEAGENT_ASPNETCORE_EXCLUDED_PATHS", "/health*"),
            ("TRACEAGENT_HTTPCLIENT_EXCLUDED_URLS", "*/status/*"),
            ("OTEL_DOTNET_AUTO_TRACES_ASPNETCORE_INSTRUMENTATION_CAPTURE_REQUEST_HEADERS", "X-Request-Id"),
            ("OTEL_DOTNET_AUTO_TRACES_ASPNETCORE_INSTRUMENTATION_CAPTURE_RESPONSE_HEADERS", "Content-Type"),
            ("OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION", "true"));
        await pair.GetAsync("/health");
        await pair.GetAsync("/front?path=/status/202");
        await pair.GetAsync("/hello?visible=kept-value", ("X-Request-Id", "req-42"));
        var spans = await pair.Receiver.WaitForSpansAsync(all => all.Any(s => IsRequest(s, "front", "/hello")), Timeout);

        var hello = spans.Single(s => IsRequest(s, "front", "/hello"));
        Assert.Equal(new object?[] { "req-42" }, hello.Attribute("http.request.header.x-request-id"));
        Assert.Equal(new object?[] { "text/plain; charset=utf-8" }, hello.Attribute("http.response.header.content-type"));
        Assert.Equal("visible=kept-value", hello.Attribute("url.query"));
        Assert.DoesNotContain(spans, s => (s.Attribute("url.path") as string ?? string.Empty).StartsWith("/health", StringComparison.Ordinal));

        // The filtered client call made no span, and its unsampled context made the back drop its span too.
        Assert.DoesNotContain(spans, s => s.Kind == SpanKinds.Client);
        Assert.DoesNotContain(spans, s => s.ServiceName == "back" && (s.Attribute("url.path") as string) == "/status/202");
        Assert.Contains(spans, s => IsRequest(s, "front", "/front"));
    }

    /// <summary>
    /// An excluded request path makes no span, and nothing under it is sampled whatever the
    /// sampler: a sampler that ignores parents (always_on, traceidratio) once sampled the
    /// request's HttpClient call, which was exported without its parent and told the back
    /// service its context was sampled.
    /// </summary>
    [Theory]
    [InlineData("always_on")]
    [InlineData("traceidratio")]
    [InlineData("parentbased_always_on")]
    public async Task Nothing_under_an_excluded_path_is_sampled_whatever_the_sampler(string sampler)
    {
        await using var pair = await Pair.StartAsync(
            ("TRACEAGENT_ASPNETCORE_EXCLUDED_PATHS", "/front"),
            ("OTEL_TRACES_SAMPLER", sampler),
            ("OTEL_TRACES_SAMPLER_ARG", "1"));
        Assert.Equal(HttpStatusCode.OK, (await pair.GetAsync("/front?path=/items/5")).Status);
        Assert.Equal(HttpStatusCode.OK, (await pair.GetAsync("/hello")).Status);
        using (var response = await pair.Client.GetAsync(pair.Back.BaseUrl + "/hello"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Each service's spans leave in the order they ended: a later request's span on each comes
        // after anything the excluded request made there.
        var spans = await pair.Receiver.WaitForSpansAsync(all => all.Any(s => IsRequest(s, "front", "/hello")) && all.Any(s => IsRequest(s, "back", "/hello")), Timeout);
        Assert.Equal(["/hello"], spans.Where(s => s.ServiceName == "front" && (s.Attribute("url.path") as string) != WebApp.ReadinessPath).Select(s => s.Attribute("url.path") as string));
        if (sampler.StartsWith("parentbased", StringComparison.Ordinal))
        {
            // The unsampled context travelled: a sampler that follows it makes nothing on the back either.
            Assert.DoesNotContain(spans, s => s.ServiceName == "back" && (s.Attribute("url.path") as string) is not (WebApp.ReadinessPath or "/hello"));
        }
    }

    [Fact]
    public async Task No_query_value_or_header_appears_unless_configured()
    {
        await using var pair = await Pair.StartAsync();
        await pair.GetAsync("/front?secret=abc123", ("X-Request-Id", "req-secret"), ("Authorization", "Bearer top-secret-token"));
        var spans = await pair.WaitForTraceAsync(s => IsRequest(s, "front", "/front"), 3);
        foreach (var span in spans)
        {
            foreach (var value in span.Attributes.Values)
            {
                var text = value is object?[] array ? string.Join(",", array) : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
                Assert.DoesNotContain("abc123", text, StringComparison.Ordinal);
                Assert.DoesNotContain("req-secret", text, StringComparison.Ordinal);
                Assert.DoesNotContain("top-secret-token", text, StringComparison.Ordinal);
            }

            Assert.DoesNotContain(span.Attributes.Keys, k => k.StartsWith("http.request.header.", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Switching_an_instrumentation_off_removes_its_spans_only()
    {
        await using var pair = await Pair.StartAsync(("OTEL_DOTNET_AUTO_TRACES_HTTPCLIENT_INSTRUMENTATION_ENABLED", "false"));
        await pair.GetAsync("/front");
        var spans = await pair.Receiver.WaitForSpansAsync(all => all.Any(s => IsRequest(s, "back", "/items/7")) && all.Any(s => IsRequest(s, "front", "/front")), Timeout);
        Assert.DoesNotContain(spans, s => s.Kind == SpanKinds.Client);

        // Without a client span the context still crosses: the back's span joins the front's trace.
        var front = spans.Single(s => IsRequest(s, "front", "/front"));
        var back = spans.Single(s => s.ServiceName == "back" && (s.Attribute("url.path") as string) != WebApp.ReadinessPath);
        Assert.Equal(front.TraceId, back.TraceId);
    }

    [Fact]
    public async Task With_the_sampler_off_the_context_still_crosses_unsampled_with_its_trace_state_and_baggage()
    {
        await using var pair = await Pair.StartAsync(("OTEL_TRACES_SAMPLER", "always_off"));
        const string TraceId = "5bf92f3577b34da6a3ce929d0e0e4736";
        var (_, body) = await pair.GetAsync(
            "/front?path=/echo-headers",
            ("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01"),
            ("tracestate", "vendor=value"),
            ("baggage", "k=v"));

        // The incoming trace goes on downstream, marked not sampled (always_off does not follow the parent).
        var headers = JsonSerializer.Deserialize<Dictionary<string, string[]>>(body)!;
        var traceparent = Assert.Single(headers["traceparent"]);
        Assert.StartsWith($"00-{TraceId}-", traceparent, StringComparison.Ordinal);
        Assert.DoesNotContain("00f067aa0ba902b7", traceparent, StringComparison.Ordinal);
        Assert.EndsWith("-00", traceparent, StringComparison.Ordinal);
        Assert.Equal("vendor=value", Assert.Single(headers["tracestate"]));
        Assert.Equal("k=v", Assert.Single(headers["baggage"]));

        // And a request with no context starts one, unsampled, that the back continues.
        var (_, fresh) = await pair.GetAsync("/front?path=/trace-id");
        Assert.Matches("^[0-9a-f]{32}$", fresh);
        Assert.NotEqual(new string('0', 32), fresh);
    }

    [Fact]
    public async Task An_app_loads_the_instrumentations_of_the_libraries_it_uses_and_no_other()
    {
        await using var pair = await Pair.StartAsync();
        await pair.GetAsync("/front");
        await pair.WaitForTraceAsync(s => IsRequest(s, "front", "/front"), 3);

        // What the front process has mapped: an assembly loaded from a file is mapped from it.
        var loaded = File.ReadLines($"/proc/{pair.Front.Process.Id}/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? string.Empty)
            .Select(Path.GetFileName)
            .Where(name => name!.StartsWith("TraceAgent.Instrumentation.", StringComparison.Ordinal))
            .ToHashSet();
        Assert.Contains("TraceAgent.Instrumentation.AspNetCore.dll", loaded);

        // The libraries the app does not use have instrumentations in the agent's folder, never loaded.
        var shipped = Directory.GetFiles(RepoPaths.AgentDirectory, "TraceAgent.Instrumentation.*.dll", SearchOption.AllDirectories).Select(Path.GetFileName).ToHashSet();
        foreach (var unused in new[] { "StackExchangeRedis", "ConfluentKafka" })
        {
            Assert.Contains("TraceAgent.Instrumentation." + unused + ".dll", shipped);
            Assert.DoesNotContain("TraceAgent.Instrumentation." + unused + ".dll", loaded);
        }
    }

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task With_query_redaction_off_url_full_keeps_the_query_values_on_every_runtime(string runtime)
    {
        // Taken from the request itself: the runtime's url.full has "?*", and the agent leaves the
        // runtime's redaction switch alone (it also governs the URLs IHttpClientFactory logs).
        await using var pair = await Pair.StartOnAsync(runtime, ("OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION", "true"));
        await pair.GetAsync("/front");
        var spans = await pair.WaitForTraceAsync(s => IsRequest(s, "front", "/front"), 3);

        var client = spans.Single(s => s.Kind == SpanKinds.Client);
        Assert.Equal(pair.Back.BaseUrl + "/items/7?token=abc123", client.Attribute("url.full"));
    }

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task Credentials_in_an_outgoing_url_are_in_no_span_with_query_redaction_on_or_off(string runtime)
    {
        foreach (var redactionOff in new[] { false, true })
        {
            await using var pair = await Pair.StartOnAsync(runtime, ("OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION", redactionOff ? "true" : null));
            var back = new Uri(pair.Back.BaseUrl);
            var target = $"http://app-user:s3cret-password@{back.Authority}/items/7?token=abc123";
            await pair.GetAsync("/front?path=" + Uri.EscapeDataString(target));
            var spans = await pair.WaitForTraceAsync(s => IsRequest(s, "front", "/front"), 3);

            var client = spans.Single(s => s.Kind == SpanKinds.Client);
            Assert.Equal(redactionOff ? $"http://REDACTED:REDACTED@{back.Authority}/items/7?token=abc123" : pair.Back.BaseUrl + "/items/7?*", client.Attribute("url.full"));
            Assert.All(spans.SelectMany(s => s.Attributes.Values), value =>
            {
                var text = value is object?[] array ? string.Join(",", array) : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
                Assert.DoesNotContain("s3cret-password", text, StringComparison.Ordinal);
                Assert.DoesNotContain("app-user", text, StringComparison.Ordinal);
            });
        }
    }

    [Fact]
    public async Task HttpClient_spans_record_the_configured_headers_and_with_redaction_off_the_query_values()
    {
        await using var pair = await Pair.StartAsync(
            ("OTEL_DOTNET_AUTO_TRACES_HTTP_INSTRUMENTATION_CAPTURE_REQUEST_HEADERS", "X-Caller"),
            ("OTEL_DOTNET_AUTO_TRACES_HTTP_INSTRUMENTATION_CAPTURE_RESPONSE_HEADERS", "Content-Type"),
            ("OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION", "true"));
        await pair.GetAsync("/front", ("X-Caller", "the-test"));
        var spans = await pair.WaitForTraceAsync(s => IsRequest(s, "front", "/front"), 3);

        var client = spans.Single(s => s.Kind == SpanKinds.Client);
        Assert.Equal(pair.Back.BaseUrl + "/items/7?token=abc123", client.Attribute("url.full"));
        Assert.Equal(new object?[] { "front" }, client.Attribute("http.request.header.x-caller"));
        Assert.Equal(new object?[] { "application/json; charset=utf-8" }, client.Attribute("http.response.header.content-type"));

        // The HttpClient settings are not the server spans': neither service records a header or a query value there.
        Assert.All(spans.Where(s => s.Kind == SpanKinds.Server), s =>
        {
            Assert.DoesNotContain(s.Attributes.Keys, k => k.StartsWith("http.request.header.", StringComparison.Ordinal) || k.StartsWith("http.response.header.", StringComparison.Ordinal));
            Assert.DoesNotContain("abc123", s.Attribute("url.query") as string ?? string.Empty, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Switching_ASP_NET_Core_off_leaves_root_client_spans_whose_context_still_travels()
    {
        await using var pair = await Pair.StartAsync(("OTEL_DOTNET_AUTO_TRACES_ASPNETCORE_INSTRUMENTATION_ENABLED", "false"));
        var (_, body) = await pair.GetAsync("/front?path=/echo-headers");
        await pair.GetAsync("/front");

        // Exports go out in the order spans end: by the second call's client span, the first request's server spans would be there.
        var spans = await pair.Receiver.WaitForSpansAsync(all => all.Count(s => s.Kind == SpanKinds.Client) >= 2, Timeout);
        Assert.DoesNotContain(spans, s => s.Kind == SpanKinds.Server);
        var clients = spans.Where(s => s.Kind == SpanKinds.Client).ToList();
        Assert.Equal(2, clients.Count);
        Assert.All(clients, c => Assert.True(c.IsRoot));
        Assert.All(clients, c => Assert.Equal("front", c.ServiceName));

        var echo = clients.Single(c => (c.Attribute("url.full") as string ?? string.Empty).EndsWith("/echo-headers", StringComparison.Ordinal));
        var headers = JsonSerializer.Deserialize<Dictionary<string, string[]>>(body)!;
        Assert.StartsWith($"00-{echo.TraceId}-{echo.SpanId}-", Assert.Single(headers["traceparent"]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_services_on_traceidratio_keep_exactly_the_same_traces_and_say_so_in_tracestate()
    {
        // Both services sample on their own (traceidratio ignores the caller's flag) with the same
        // ratio. The callers' trace ids are chosen: the right-most 56 bits decide, against th 8
        // (0x80000000000000), which traces must be kept; the callers claim "not sampled" throughout.
        await using var pair = await Pair.StartAsync(("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.5"));
        var random = new Random(15);
        var expectedKept = new HashSet<string>();
        var all = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            var bytes = new byte[16];
            random.NextBytes(bytes);
            bytes[9] = (byte)(i % 2 == 0 ? 0x80 | bytes[9] : 0x7f & bytes[9]);
            var traceId = Convert.ToHexStringLower(bytes);
            all.Add(traceId);
            if (i % 2 == 0)
            {
                expectedKept.Add(traceId);
            }

            var (status, _) = await pair.GetAsync("/front/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), ("traceparent", $"00-{traceId}-1234567890123456-02"));
            Assert.Equal(HttpStatusCode.OK, status);
        }

        // A last kept request: each process exports in order, so once its spans are in, every
        // span either service made before it is in too.
        var marker = "0123456789abcdef" + "00" + "f3456789abcdef";
        await pair.GetAsync("/front/99", ("traceparent", $"00-{marker}-1234567890123456-02"));
        var spans = await pair.Receiver.WaitForSpansAsync(s => s.Count(x => x.TraceId == marker) >= 3, Timeout);

        var kept = spans.Where(s => all.Contains(s.TraceId)).GroupBy(s => s.TraceId).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(expectedKept.Order(), kept.Keys.Order());
        foreach (var (_, trace) in kept)
        {
            // Front server, front client, back server: the whole trace in both services.
            Assert.Equal(["back", "front", "front"], trace.Select(s => s.ServiceName).Order());
            Assert.All(trace, s => Assert.Equal("ot=th:8", s.TraceState));
            Assert.All(trace, s => Assert.Equal(0x03u, s.Flags & 0xffu));
        }
    }

    [Fact]
    public async Task Traces_started_at_a_ratio_carry_the_threshold_and_the_random_flag_downstream()
    {
        await using var pair = await Pair.StartAsync(("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.25"));
        for (var i = 0; i < 40; i++)
        {
            await pair.GetAsync("/front/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var marker = "0123456789abcdef" + "00" + "f3456789abcdef";
        await pair.GetAsync("/front/99", ("traceparent", $"00-{marker}-1234567890123456-03"));
        var spans = await pair.Receiver.WaitForSpansAsync(s => s.Count(x => x.TraceId == marker) >= 3, Timeout);
        var roots = spans.Where(s => s.ServiceName == "front" && s.IsRoot && (s.Attribute("url.path") as string)?.StartsWith("/front/", StringComparison.Ordinal) == true).ToList();

        // Each kept root decided by its own trace id against th c (0xc0000000000000).
        Assert.NotEmpty(roots);
        Assert.True(roots.Count < 40, "a quarter of the traces, not all, are kept");
        foreach (var root in roots)
        {
            Assert.True(Convert.ToUInt64(root.TraceId[18..], 16) >= 0xc0000000000000UL, root.TraceId);
            Assert.Equal("ot=th:c", root.TraceState);
            Assert.Equal(0x03u, root.Flags & 0xffu);
            var trace = spans.Where(s => s.TraceId == root.TraceId).ToList();
            Assert.Equal(3, trace.Count);
            Assert.All(trace, s => Assert.Equal("ot=th:c", s.TraceState));
        }
    }
}
