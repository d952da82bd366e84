using System.Net;
using System.Text.Json;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Logs;

/// <summary>
/// ILogger records correlated with traces, with no code in the apps: trace ids in the apps' own
/// console output (plain and JSON formatters, with scopes) and OTLP log records that join spans.
/// Both test apps turn the host's own activity tracking off, so every id seen comes from the agent.
/// </summary>
public sealed class LogsTests
{
    private const string WebAppName = "TestApplication.Logging";
    private const string ConsoleAppName = "TestApplication.LoggingConsole";
    private const string SwitchOff = "OTEL_DOTNET_AUTO_LOGS_ILOGGER_INSTRUMENTATION_ENABLED";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static Dictionary<string, string?> LogsEnvironment(OtlpReceiver receiver, string service, bool grpc = false, params (string Key, string? Value)[] settings) =>
        AgentEnvironment.For(receiver, service, grpc).With(("OTEL_LOGS_EXPORTER", "otlp"), ("OTEL_BLRP_SCHEDULE_DELAY", "100")).With(settings);

    private static async Task GetAsync(WebApp app, string pathAndQuery, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.GetAsync(app.BaseUrl + pathAndQuery);
        Assert.Equal(expected, response.StatusCode);
    }

    private static Task<IReadOnlyList<ReceivedSpan>> WaitForServerSpanAsync(OtlpReceiver receiver, string path) =>
        receiver.WaitForSpansAsync(all => all.Any(s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == path), Timeout);

    private static ReceivedSpan ServerSpan(IReadOnlyList<ReceivedSpan> spans, string path) =>
        Assert.Single(spans, s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == path);

    private static async Task<ReceivedLogRecord> WaitForLogAsync(OtlpReceiver receiver, string marker)
    {
        var logs = await receiver.WaitForLogsAsync(all => all.Any(l => HasMarker(l, marker)), Timeout);
        return Assert.Single(logs, l => HasMarker(l, marker));
    }

    private static bool HasMarker(ReceivedLogRecord record, string marker) =>
        record.Attributes.TryGetValue("Marker", out var value) && (value as string) == marker;

    /// <summary>Runs the console app (its span's source traced) to its end, which must be a clean exit.</summary>
    private static async Task<TestProcess> RunConsoleAppAsync(OtlpReceiver receiver, string service, string variant, params (string Key, string? Value)[] settings)
    {
        var environment = LogsEnvironment(receiver, service, settings: [("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApplication.LoggingConsole"), .. settings]);
        var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleAppName + "-" + variant), environment);
        Assert.Equal(0, await process.WaitForExitAsync(Timeout));
        return process;
    }

    /// <summary>The console line the app logged inside its span, written with no trace ids.</summary>
    private static void AssertInsideLineHasNoIds(TestProcess process) =>
        Assert.DoesNotContain("TraceId", Assert.Single(process.StandardOutput, l => l.Contains("console-inside", StringComparison.Ordinal)), StringComparison.Ordinal);

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task A_log_line_inside_a_request_carries_the_server_span_ids_in_the_console_and_in_the_exported_record(string runtime)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(TestRuntimes.App(WebAppName, runtime), LogsEnvironment(receiver, "logging-web"));

        await GetAsync(app, "/log?marker=web-inside");
        await GetAsync(app, "/outside?marker=web-outside");

        var server = ServerSpan(await WaitForServerSpanAsync(receiver, "/log"), "/log");
        var insideLine = await app.Process.WaitForOutputAsync("Inside request web-inside", Timeout);
        Assert.Contains("TraceId:" + server.TraceId, insideLine, StringComparison.Ordinal);
        Assert.Contains("SpanId:" + server.SpanId, insideLine, StringComparison.Ordinal);
        Assert.Contains("TraceFlags:Recorded", insideLine, StringComparison.Ordinal);
        var outsideLine = await app.Process.WaitForOutputAsync("Outside any request web-outside", Timeout);
        Assert.DoesNotContain("TraceId:", outsideLine, StringComparison.Ordinal);

        var inside = await WaitForLogAsync(receiver, "web-inside");
        Assert.Equal(server.TraceId, inside.TraceId);
        Assert.Equal(server.SpanId, inside.SpanId);
        Assert.Equal(1u, inside.Flags & 1u);
        Assert.Equal("Inside request {Marker} with {Count} items", inside.Body);
        Assert.Equal(3L, inside.Attributes["Count"]);
        Assert.False(inside.Attributes.ContainsKey("{OriginalFormat}"));
        Assert.Equal(9, inside.SeverityNumber);
        Assert.Equal("Info", inside.SeverityText);
        Assert.Equal("Program", inside.ScopeName);
        Assert.Equal("logging-web", inside.ServiceName);

        var outside = await WaitForLogAsync(receiver, "web-outside");
        Assert.Equal("", outside.TraceId);
        Assert.Equal("", outside.SpanId);
        Assert.Equal(13, outside.SeverityNumber);
        Assert.Equal("TestApplication.Logging.Lifetime", outside.ScopeName);

        // Every exported record written in a span joins a span the agent exported. The framework's
        // own records (hosting, routing) are exported too, under their categories.
        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => (s.Attribute("url.path") as string) == "/outside"), Timeout);
        var joined = receiver.Logs.Where(l => l.TraceId.Length > 0 && l.TraceId == server.TraceId).ToList();
        Assert.Contains(joined, l => l.ScopeName.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.All(joined, l => Assert.Contains(spans, s => s.TraceId == l.TraceId && s.SpanId == l.SpanId));
        Assert.Contains(app.Process.StandardError, line => line.Contains("ILOGGER: attached to a host being built", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task The_urls_IHttpClientFactory_logs_are_as_without_the_agent_and_no_span_has_the_query_value(string runtime)
    {
        const string Secret = "s3cret-query-value";
        var app = TestRuntimes.App(WebAppName, runtime);
        await using var receiver = await OtlpReceiver.StartAsync();
        var target = $"http://127.0.0.1:{receiver.HttpPort}/lookup";

        // The framework's handler logs each outgoing URL; from .NET 9 on with its query reduced to "?*".
        async Task<string> CallAsync(WebApp web)
        {
            await GetAsync(web, "/call?port=" + receiver.HttpPort);
            var line = await web.Process.WaitForOutputAsync("Start processing HTTP request GET", Timeout);
            return line[line.IndexOf("Start processing", StringComparison.Ordinal)..].Split(' ')[5];
        }

        string plainUrl;
        using (var plain = await WebApp.StartAsync(app, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production" }))
        {
            plainUrl = await CallAsync(plain);
        }

        using var traced = await WebApp.StartAsync(app, LogsEnvironment(receiver, "logging-redaction"));
        var tracedUrl = await CallAsync(traced);
        Assert.Equal(plainUrl, tracedUrl);
        Assert.StartsWith(target, tracedUrl, StringComparison.Ordinal);
        if (TestRuntimes.Major(runtime) >= 9)
        {
            Assert.Equal(target + "?*", tracedUrl);
            Assert.DoesNotContain(traced.Process.Output, l => l.Contains(Secret, StringComparison.Ordinal));
        }

        // The client span has the runtime's redaction on every runtime; the exported record has the
        // app's own URL (on .NET 8 the framework logs the whole URL, with or without the agent).
        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => s.Kind == SpanKinds.Client), Timeout);
        Assert.DoesNotContain(spans, s => s.Attributes.Values.Any(v => (v?.ToString() ?? "").Contains(Secret, StringComparison.Ordinal)));
        Assert.Equal(target + "?*", spans.Single(s => s.Kind == SpanKinds.Client).Attribute("url.full"));
        var logs = await receiver.WaitForLogsAsync(all => all.Any(l => (l.Body as string)?.StartsWith("Start processing HTTP request", StringComparison.Ordinal) == true), Timeout);
        var exported = logs.Single(l => (l.Body as string)?.StartsWith("Start processing HTTP request", StringComparison.Ordinal) == true);
        Assert.Equal(tracedUrl, exported.Attributes["Uri"]?.ToString());
    }

    [Fact]
    public async Task Json_console_and_grpc_export_carry_the_trace_the_exception_and_the_formatted_message()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(
            WebAppName,
            LogsEnvironment(receiver, "logging-json", grpc: true, ("LOG_FORMAT", "json"), ("OTEL_DOTNET_AUTO_LOGS_INCLUDE_FORMATTED_MESSAGE", "true")));

        await GetAsync(app, "/fail?marker=web-fail", HttpStatusCode.InternalServerError);

        var server = ServerSpan(await WaitForServerSpanAsync(receiver, "/fail"), "/fail");
        var line = await app.Process.WaitForOutputAsync("Order web-fail failed", Timeout);
        using (var json = JsonDocument.Parse(line))
        {
            var scopes = json.RootElement.GetProperty("Scopes").EnumerateArray().ToList();
            var activityScope = Assert.Single(scopes, s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("TraceId", out _));
            Assert.Equal(server.TraceId, activityScope.GetProperty("TraceId").GetString());
            Assert.Equal(server.SpanId, activityScope.GetProperty("SpanId").GetString());
        }

        var record = await WaitForLogAsync(receiver, "web-fail");
        Assert.Equal(server.TraceId, record.TraceId);
        Assert.Equal(server.SpanId, record.SpanId);
        Assert.Equal(17, record.SeverityNumber);
        Assert.Equal("Error", record.SeverityText);
        Assert.Equal("Order web-fail failed", record.Body);
        Assert.Equal("Order {Marker} failed", record.Attributes["{OriginalFormat}"]);
        Assert.Equal("OrderFailed", record.EventName);
        Assert.Equal("System.InvalidOperationException", record.Attributes["exception.type"]);
        Assert.Equal("the order service is down", record.Attributes["exception.message"]);
        Assert.Contains("InvalidOperationException", (string)record.Attributes["exception.stacktrace"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("low", false, "application")]
    [InlineData("high", true, "application")]
    [InlineData("low", false, "hostbuilder")]
    [InlineData("high", false, "hostbuilder")]
    [InlineData("net8", false, "hostbuilder")]
    [InlineData("net9", true, "application")]
    [InlineData("high", false, "new")]
    [InlineData("low", false, "empty")]
    public async Task A_console_app_on_the_generic_host_gets_ids_inside_its_span_and_none_outside(string variant, bool json, string hostKind)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var process = await RunConsoleAppAsync(receiver, "logging-console", variant, ("LOG_FORMAT", json ? "json" : null), ("HOST_KIND", hostKind));

        // The agent flushes at exit: everything exported is in by now.
        var work = Assert.Single(receiver.Spans, s => s.Name == "work");
        var insideLine = Assert.Single(process.StandardOutput, l => l.Contains("console-inside", StringComparison.Ordinal));
        var outsideLine = Assert.Single(process.StandardOutput, l => l.Contains("console-outside", StringComparison.Ordinal));
        Assert.Contains(work.TraceId, insideLine, StringComparison.Ordinal);
        Assert.Contains(work.SpanId, insideLine, StringComparison.Ordinal);
        Assert.DoesNotContain("TraceId", outsideLine, StringComparison.Ordinal);

        var inside = Assert.Single(receiver.Logs, l => HasMarker(l, "console-inside"));
        Assert.Equal(work.TraceId, inside.TraceId);
        Assert.Equal(work.SpanId, inside.SpanId);
        Assert.Equal(7L, inside.Attributes["Step"]);
        Assert.Equal("Worker", inside.ScopeName);
        var outside = Assert.Single(receiver.Logs, l => HasMarker(l, "console-outside"));
        Assert.Equal("", outside.TraceId);
        Assert.Contains(process.StandardError, line => line.Contains("ILOGGER: attached to a host being built", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Logging_OpenTelemetry_LogLevel_section_filters_the_exported_records_and_not_the_console()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = LogsEnvironment(receiver, "logging-filtered", settings:
        [
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApplication.LoggingConsole"),
            ("HOST_KIND", "application"),
            ("Logging__OpenTelemetry__LogLevel__Default", "Information"),
        ]);

        // At Information, the records are exported.
        using (var unfiltered = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleAppName + "-high"), environment))
        {
            Assert.Equal(0, await unfiltered.WaitForExitAsync(Timeout));
        }

        Assert.Contains(receiver.Logs, l => HasMarker(l, "console-inside"));
        receiver.Clear();

        environment["Logging__OpenTelemetry__LogLevel__Default"] = "Warning";
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleAppName + "-high"), environment);
        Assert.Equal(0, await process.WaitForExitAsync(Timeout));

        // The exit flushed the span; the information records under it went to the console only.
        Assert.Single(receiver.Spans, s => s.Name == "work");
        Assert.Contains(process.StandardOutput, l => l.Contains("console-inside", StringComparison.Ordinal));
        Assert.DoesNotContain(receiver.Logs, l => HasMarker(l, "console-inside") || HasMarker(l, "console-outside"));
    }

    [Fact]
    public async Task With_tracing_off_nothing_starts_no_ids_in_the_console_and_nothing_exported()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var process = await RunConsoleAppAsync(receiver, "tracing-off", "low", ("OTEL_DOTNET_AUTO_TRACES_ENABLED", "false"));

        // The exit has passed, where a started agent flushes what it holds: nothing came.
        AssertInsideLineHasNoIds(process);
        Assert.Empty(receiver.Requests);
        Assert.Contains(process.StandardError, line => line.Contains("OTEL_DOTNET_AUTO_TRACES_ENABLED=false: tracing is off", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_full_log_queue_drops_records_and_the_loss_line_accounts_for_every_one()
    {
        // A collector that never answers holds the logs' export thread on its first batch while the
        // app logs 202 records into a queue of 4.
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Hang;
        using var process = await RunConsoleAppAsync(
            receiver,
            "full-log-queue",
            "high",
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "4"),
            ("LOG_COUNT", "200"));

        // The app logged every record to its console: only the export lost them.
        Assert.Equal(200, process.StandardOutput.Count(l => l.Contains("of a burst", StringComparison.Ordinal)));
        var loss = LossLine.Last(process.StandardError, "log records", queueLimit: 4);
        Assert.True(loss.Dropped > 0, loss.Text);
        Assert.Equal(202, loss.Dropped + loss.Failed);
        Assert.Equal(0, loss.Exported);
        Assert.Empty(receiver.Logs);
    }

    [Theory]
    [InlineData(SwitchOff)]
    [InlineData("OTEL_DOTNET_AUTO_LOGS_INSTRUMENTATION_ENABLED")]
    [InlineData("OTEL_DOTNET_AUTO_LOGS_ENABLED")]
    public async Task The_switch_off_leaves_console_output_without_ids_and_exports_no_logs(string key)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var process = await RunConsoleAppAsync(receiver, "logging-off", "low", (key, "false"));

        // Tracing still works (the span is there after the exit flush), the logs do not.
        Assert.Single(receiver.Spans, s => s.Name == "work");
        AssertInsideLineHasNoIds(process);
        Assert.Empty(receiver.Logs);
        Assert.Contains(process.StandardError, line => line.Contains("ILOGGER (switched off)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_log_line_in_an_unsampled_request_carries_its_ids_with_the_flags_saying_unsampled()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(WebAppName, LogsEnvironment(receiver, "logging-unsampled"));
        const string TraceId = "7bf92f3577b34da6a3ce929d0e0e4736";
        using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        using (var request = new HttpRequestMessage(HttpMethod.Get, app.BaseUrl + "/log?marker=web-unsampled"))
        {
            request.Headers.Add("traceparent", $"00-{TraceId}-00f067aa0ba902b7-00");
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var record = await WaitForLogAsync(receiver, "web-unsampled");
        Assert.Equal(TraceId, record.TraceId);
        Assert.Matches("^[0-9a-f]{16}$", record.SpanId);
        Assert.NotEqual("00f067aa0ba902b7", record.SpanId);
        Assert.Equal(0u, record.Flags & 1u);
        Assert.DoesNotContain(receiver.Spans, s => s.TraceId == TraceId);
    }

    [Fact]
    public async Task Each_level_has_its_severity_and_values_keep_their_type_or_become_invariant_text()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(WebAppName, LogsEnvironment(receiver, "logging-levels", settings: [("Logging__LogLevel__Default", "Trace")]));
        using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            Assert.Equal("1,5", await client.GetStringAsync(app.BaseUrl + "/log-levels?marker=levels"));
        }

        var logs = await receiver.WaitForLogsAsync(all => all.Count(l => HasMarker(l, "levels")) >= 3, Timeout);
        var records = logs.Where(l => HasMarker(l, "levels")).OrderBy(l => l.SeverityNumber).ToList();
        Assert.Equal([(1, "Trace"), (5, "Debug"), (21, "Fatal")], records.Select(r => (r.SeverityNumber, r.SeverityText)));
        var critical = records[2];
        Assert.Equal(true, critical.Attributes["Flag"]);
        Assert.Equal(new object?[] { 1L, 2L }, critical.Attributes["Ids"]);
        Assert.Equal("1.5", critical.Attributes["Amount"]);
    }

    [Fact]
    public async Task A_state_without_a_template_is_exported_with_its_formatted_message_as_the_body()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(WebAppName, LogsEnvironment(receiver, "logging-state"));
        await GetAsync(app, "/log-state?marker=own-state");

        var record = await WaitForLogAsync(receiver, "own-state");
        Assert.Equal("custom state own-state", record.Body);
        Assert.Equal(13, record.SeverityNumber);
        Assert.False(record.Attributes.ContainsKey("{OriginalFormat}"));
        Assert.Contains(app.Process.Output, l => l.Contains("custom state own-state", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_only_the_traces_endpoint_set_logs_go_to_the_generic_endpoint()
    {
        await using var generic = await OtlpReceiver.StartAsync();
        await using var traces = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(WebAppName, LogsEnvironment(
            generic,
            "traces-endpoint-only",
            settings: [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces.HttpEndpoint + "/v1/traces")]));

        await GetAsync(app, "/log?marker=traces-only");
        ServerSpan(await WaitForServerSpanAsync(traces, "/log"), "/log");
        await WaitForLogAsync(generic, "traces-only");
        Assert.Empty(traces.Logs);
        Assert.DoesNotContain(generic.Spans, s => (s.Attribute("url.path") as string) == "/log");
    }

    [Fact]
    public async Task Each_signals_own_variables_send_it_to_its_own_collector_with_its_own_protocol_headers_and_compression()
    {
        await using var generic = await OtlpReceiver.StartAsync();
        await using var traces = await OtlpReceiver.StartAsync();
        await using var logs = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(WebAppName, LogsEnvironment(
            generic,
            "per-signal",
            settings:
            [
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-signal=generic"),
                ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces.GrpcEndpoint),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-signal=traces"),
                ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "20000"),
                ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", logs.HttpEndpoint + "/v1/logs"),
                ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-signal=logs"),
                ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip"),
                ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "20000"),
            ]));

        await GetAsync(app, "/log?marker=per-signal");
        ServerSpan(await WaitForServerSpanAsync(traces, "/log"), "/log");
        await WaitForLogAsync(logs, "per-signal");
        await generic.WaitForMetricsAsync(all => all.Count > 0, Timeout);

        // Traces: gRPC, their own header only (a signal's headers replace the generic ones), gzip.
        Assert.All(traces.Requests, r =>
        {
            Assert.Equal(("traces", "grpc", "traces", "gzip"), (r.Signal, r.Protocol, r.Header("x-signal"), r.Header("grpc-encoding")));
        });

        // Logs: the endpoint used as given (no second /v1/logs added).
        Assert.All(logs.Requests, r =>
        {
            Assert.Equal(("logs", "http/protobuf", "/v1/logs", "logs", "gzip"), (r.Signal, r.Protocol, r.Path, r.Header("x-signal"), r.Header("Content-Encoding")));
        });

        // The rest (metrics) stays on the generic settings.
        Assert.NotEmpty(generic.Requests);
        Assert.All(generic.Requests, r =>
        {
            Assert.Equal(("metrics", "http/protobuf", "/v1/metrics", "generic", null), (r.Signal, r.Protocol, r.Path, r.Header("x-signal"), r.Header("Content-Encoding")));
        });
    }

    [Fact]
    public async Task The_switch_off_leaves_a_web_apps_console_output_without_ids()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(WebAppName, LogsEnvironment(receiver, "logging-web-off", settings: [(SwitchOff, "false")]));

        await GetAsync(app, "/log?marker=web-off");

        ServerSpan(await WaitForServerSpanAsync(receiver, "/log"), "/log");
        var line = await app.Process.WaitForOutputAsync("Inside request web-off", Timeout);
        Assert.DoesNotContain("TraceId", line, StringComparison.Ordinal);
        Assert.DoesNotContain(app.Process.StandardError, l => l.Contains("ILOGGER: attached", StringComparison.Ordinal));
    }
}
