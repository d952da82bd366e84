using System.Net;
using System.Text;
using System.Text.Json;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.IntegrationTests.Metrics;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Core;

public sealed class CoreTests
{
    private const string ConsoleApp = "TestApplication.Console";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static async Task<TestProcess> RunConsoleAsync(Dictionary<string, string?> environment, params string[] arguments)
    {
        var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleApp), environment, arguments);
        await process.WaitForExitAsync(Timeout);
        return process;
    }

    [Fact]
    public async Task Without_OTEL_SERVICE_NAME_the_service_is_named_after_the_entry_assembly()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "unused").With(
            ("OTEL_SERVICE_NAME", null),
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"));

        using var process = await RunConsoleAsync(environment);

        Assert.Equal(5, process.ExitCode);
        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 2, Timeout);
        Assert.All(spans, s => Assert.Equal(ConsoleApp, s.ResourceAttributes["service.name"]));
        Assert.Contains(process.StandardError, l => l.Contains($"tracing service '{ConsoleApp}'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task Console_app_spans_arrive_with_resource_and_attributes(bool grpc, bool gzip)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "console-under-test", grpc).With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test,team=a%2Cb"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=secret-value-123"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", gzip ? "gzip" : "none"));

        using var process = await RunConsoleAsync(environment);

        Assert.Equal(5, process.ExitCode);
        Assert.Equal(["console app done"], process.StandardOutput);
        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 2, Timeout);
        var root = Assert.Single(spans, s => s.Name == "console-root");
        var child = Assert.Single(spans, s => s.Name == "console-child");
        Assert.Equal(root.TraceId, child.TraceId);
        Assert.Equal(root.SpanId, child.ParentSpanId);
        Assert.True(root.IsRoot);
        Assert.Equal(SpanKinds.Client, child.Kind);
        Assert.Equal(SpanKinds.Internal, root.Kind);
        Assert.Equal("value", root.Attribute("test.attribute"));
        Assert.Equal(42L, root.Attribute("test.number"));
        Assert.Equal(true, root.Attribute("test.flag"));
        Assert.Equal(0L, child.Attribute("test.index"));
        Assert.Equal("TestApp.Console", root.ScopeName);
        Assert.Equal("1.2.3", root.ScopeVersion);
        Assert.True(root.EndTimeUnixNano >= child.EndTimeUnixNano && root.StartTimeUnixNano <= child.StartTimeUnixNano);

        var resource = root.ResourceAttributes;
        Assert.Equal("console-under-test", resource["service.name"]);
        Assert.Equal("test", resource["deployment.environment.name"]);
        Assert.Equal("a,b", resource["team"]);
        Assert.Equal("dotnet", resource["telemetry.sdk.language"]);
        Assert.Equal((long)process.Id, resource["process.pid"]);
        Assert.Equal("dotnet", resource["process.executable.name"]);
        Assert.Equal(Environment.MachineName, resource["host.name"]);
        Assert.True(resource.ContainsKey("service.instance.id"));
        Assert.True(resource.ContainsKey("process.runtime.version"));

        // The spans in one request; the metrics flushed at exit in another, sent the same way.
        var request = Assert.Single(receiver.Requests, r => r.Signal == "traces");
        var metricsRequest = Assert.Single(receiver.Requests, r => r.Signal == "metrics");
        foreach (var sent in new[] { request, metricsRequest })
        {
            Assert.Equal(grpc ? "grpc" : "http/protobuf", sent.Protocol);
            Assert.Equal("secret-value-123", sent.Header("x-api-key"));
            Assert.Equal(gzip ? "gzip" : null, grpc ? sent.Header("grpc-encoding") : sent.Header("content-encoding"));
        }

        Assert.Contains(receiver.Metrics, m => m.ScopeName == "System.Runtime" && m.ServiceName == "console-under-test");

        // The start-up summary names the header but never its value.
        Assert.Contains(process.StandardError, l => l.Contains("tracing service 'console-under-test'", StringComparison.Ordinal));
        Assert.DoesNotContain(process.Output, l => l.Contains("secret-value-123", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Spans_are_flushed_on_Environment_Exit_and_the_exit_code_is_kept()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "exit-app").With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.*"),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"));

        using var process = await RunConsoleAsync(environment, "environment-exit", "3");

        Assert.Equal(3, process.ExitCode);
        Assert.Equal(6, receiver.Spans.Count);

        // The last metrics collection too: with a minute between collections, only the exit sent it.
        Assert.Contains(receiver.Requests, r => r.Signal == "metrics");
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task Spans_and_the_last_metrics_are_flushed_on_a_signal(string signal)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "signal-app").With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"));
        // Ctrl+C reaches an app in a terminal, whose SIGINT is not ignored. A test run started in
        // the background of a non-interactive shell (as a CI job may be) passes SIGINT on ignored,
        // and the runtime then leaves it so: env sets it back to the default before the app starts.
        using var process = TestProcess.Start("env", ["--default-signal=" + signal, TestProcess.DotnetHost(), RepoPaths.TestAppDll(ConsoleApp), "wait", "2"], environment);
        await process.WaitForOutputAsync("waiting for a signal", Timeout);

        using (var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await process.WaitForExitAsync(Timeout);
        Assert.Equal(4, receiver.Spans.Count);
        Assert.Contains(receiver.Requests, r => r.Signal == "metrics");
    }

    [Fact]
    public async Task Unreachable_collector_leaves_output_and_exit_code_unchanged_and_logs_the_loss()
    {
        var environment = new Dictionary<string, string?>
        {
            ["DOTNET_STARTUP_HOOKS"] = RepoPaths.StartupHookPath,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:" + TcpPort.FreePort(),
            ["OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES"] = "TestApp.Console",
            ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "2000",
        };

        using var process = await RunConsoleAsync(environment, "return", "50");

        Assert.Equal(5, process.ExitCode);
        Assert.Equal(["console app done"], process.StandardOutput);
        Assert.Contains(process.StandardError, l => l.Contains("export to", StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hanging_collector_does_not_hold_the_exit_beyond_the_export_timeout()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Hang;
        var environment = AgentEnvironment.For(receiver, "hang-app").With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"));

        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleApp), environment, []);

        // The bound here is the test's patience, far above the 1 s export timeout: a process that
        // waited for the hanging collector would never end.
        await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(5, process.ExitCode);
        Assert.Equal(["console app done"], process.StandardOutput);
        Assert.True(receiver.RequestCount >= 1);
        Assert.Empty(receiver.Spans);
    }

    [Fact]
    public async Task A_full_queue_drops_spans_and_the_exit_line_accounts_for_every_one()
    {
        // A collector that never answers holds the export thread on its first batch while the app
        // ends 400 spans into a queue of 4.
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Hang;

        // The agent's own metrics go to a healthy receiver: they count the drops too.
        await using var metricsReceiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "full-queue").With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", $"http://127.0.0.1:{metricsReceiver.HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}/v1/metrics"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "4"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4"));

        using var process = await RunConsoleAsync(environment, "return", "200");

        Assert.Equal(5, process.ExitCode);
        Assert.Equal(["console app done"], process.StandardOutput);
        var loss = LossLine.Last(process.StandardError, "spans", queueLimit: 4);
        Assert.True(loss.Dropped > 0, loss.Text);
        Assert.Equal(400, loss.Dropped + loss.Failed);
        Assert.Equal(0, loss.Exported);

        // Every span had ended before the exit, where the metrics were collected last.
        Assert.Equal(loss.Dropped, metricsReceiver.Metrics.LatestInt("traceagent.spans.dropped", _ => true));
    }

    [Theory]
    [InlineData("traces", "OTEL_BSP_EXPORT_TIMEOUT")]
    [InlineData("metrics", "OTEL_METRIC_EXPORT_TIMEOUT")]
    public async Task A_batch_export_timeout_below_the_OTLP_timeout_ends_the_attempt_and_says_so(string signal, string variable)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Hang;
        var environment = AgentEnvironment.For(receiver, "bounded-app").With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("OTEL_TRACES_EXPORTER", signal == "traces" ? "otlp" : "none"),
            ("OTEL_METRICS_EXPORTER", signal == "metrics" ? "otlp" : "none"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "120000"),
            (variable, "1000"));
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleApp), environment, ["wait", "2"]);

        // Far below the OTLP timeout: only the batch's own bound can end the attempt this soon.
        var line = await process.WaitForOutputAsync(signal + " export to ", TimeSpan.FromSeconds(60));
        Assert.Contains("failed: no answer before the batch's export deadline", line, StringComparison.Ordinal);
        Assert.DoesNotContain("120000", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task App_with_its_own_OpenTelemetry_runs_untraced_with_one_line_naming_both_versions()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "own-otel").With(("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "*"));

        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll("TestApplication.WithOpenTelemetry"), environment);
        await process.WaitForExitAsync(Timeout);

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(["own sdk made 1 span"], process.StandardOutput);
        var line = Assert.Single(process.StandardError);
        Assert.Contains("OpenTelemetry SDK 1.20.1", line, StringComparison.Ordinal);
        Assert.Contains("the agent 0.1.0", line, StringComparison.Ordinal);
        Assert.Equal(0, receiver.RequestCount);
    }

    [Theory]
    [InlineData("TestApplication.OpenTelemetryApi-direct")]
    [InlineData("TestApplication.OpenTelemetryApi-library")]
    public async Task App_with_the_OpenTelemetry_API_but_no_SDK_is_traced_and_the_API_works_as_before(string app)
    {
        // The app references OpenTelemetry.Api (directly, or only through a library) and no SDK.
        var directory = RepoPaths.TestAppDirectory(app);
        Assert.True(File.Exists(Path.Combine(directory, "OpenTelemetry.Api.dll")));
        Assert.False(File.Exists(Path.Combine(directory, "OpenTelemetry.dll")));

        using var called = new OneCallServer(204);

        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "api-app").With(("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.OpenTelemetryApi"));
        using var traced = TestProcess.StartDotnet(RepoPaths.TestAppDll(app), environment, [called.Url]);
        Assert.Equal(0, await traced.WaitForExitAsync(Timeout));

        // The API's span and the HttpClient call under it, exported by the agent.
        var spans = await receiver.WaitForSpansAsync(s => s.Any(x => x.Name == "api-span") && s.Any(x => x.Kind == SpanKinds.Client), Timeout);
        var apiSpan = Assert.Single(spans, s => s.Name == "api-span");
        var client = Assert.Single(spans, s => s.Kind == SpanKinds.Client);
        Assert.Equal("TestApp.OpenTelemetryApi", apiSpan.ScopeName);
        Assert.Equal("2.0.0", apiSpan.ScopeVersion);
        Assert.Equal("from-the-api", apiSpan.Attribute("api.attribute"));
        Assert.Equal(apiSpan.TraceId, client.TraceId);
        Assert.Equal(apiSpan.SpanId, client.ParentSpanId);

        // The API's own propagator saw the agent's span (it writes the sampled flag alone); the agent
        // injected the client span downstream, sampled and, W3C Level 2, random.
        Assert.Contains($"api traceparent 00-{apiSpan.TraceId}-{apiSpan.SpanId}-01", traced.StandardOutput);
        Assert.Equal($"00-{client.TraceId}-{client.SpanId}-03", (await called.Called.WaitAsync(Timeout)).GetValueOrDefault("traceparent"));

        // The app's own use of the API is what it is without the agent: baggage through the API,
        // and the API's default propagator a no-op because the app installed no SDK.
        using var untraced = TestProcess.StartDotnet(RepoPaths.TestAppDll(app), new Dictionary<string, string?>(), []);
        Assert.Equal(0, await untraced.WaitForExitAsync(Timeout));
        Assert.Equal(
            ["api traceparent none", "default propagator wrote 0 header(s)", "baggage api.key=api-value", "api app done"],
            untraced.StandardOutput);
        Assert.Equal(
            ["default propagator wrote 0 header(s)", "baggage api.key=api-value", "call answered 204", "api app done"],
            traced.StandardOutput.Where(l => !l.StartsWith("api traceparent ", StringComparison.Ordinal)));
        Assert.DoesNotContain(traced.StandardError, l => l.Contains("untraced", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_values_for_every_variable_leave_the_app_running_with_warnings()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "bad-values").With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "x"),
            ("OTEL_PROPAGATORS", "xray"),
            ("OTEL_TRACES_EXPORTER", "otlp,jaeger"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "-1"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "lots"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "soon"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "forever"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "-3"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "x"),
            ("OTEL_LOG_LEVEL", "chatty"),
            ("OTEL_DOTNET_AUTO_TRACES_INSTRUMENTATION_ENABLED", "perhaps"),
            ("OTEL_DOTNET_AUTO_FAIL_FAST_ENABLED", "no"),
            ("OTEL_RESOURCE_ATTRIBUTES", "=,novalue"),
            ("OTEL_DOTNET_AUTO_TRACES_ENABLED", "yes"),
            ("OTEL_DOTNET_AUTO_METRICS_ENABLED", "sure"),
            ("OTEL_DOTNET_AUTO_LOGS_ENABLED", "sure"),
            ("OTEL_DOTNET_AUTO_TRACES_ASPNETCORE_INSTRUMENTATION_ENABLED", "on"),
            ("OTEL_DOTNET_AUTO_METRICS_HTTPCLIENT_INSTRUMENTATION_ENABLED", "on"),
            ("OTEL_DOTNET_AUTO_LOGS_INCLUDE_FORMATTED_MESSAGE", "nope"),
            ("OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION", "yep"),
            ("TRACEAGENT_DB_QUERY_SANITIZATION_ENABLED", "nah"),
            ("TRACEAGENT_SAMPLER_KEEP_ERRORS", "maybe"),
            ("TRACEAGENT_SAMPLER_KEEP_SLOWER_THAN_MS", "slow"),
            ("TRACEAGENT_SAMPLER_KEEP_MAX_BUFFERED_SPANS", "many"),
            ("OTEL_BSP_SCHEDULE_DELAY", "often"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "often"),
            ("OTEL_BLRP_EXPORT_TIMEOUT", "soon"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "-1"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "lots"),
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "x"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "x"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "x"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "x"),
            ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "x"),
            ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "x"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "never"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "never"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "zstd"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "never"),
            ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "zstd"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "hourly"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "soon"));

        using var process = await RunConsoleAsync(environment);

        Assert.Equal(5, process.ExitCode);
        Assert.Equal(["console app done"], process.StandardOutput);
        foreach (var key in new[]
        {
            "OTEL_TRACES_SAMPLER=", "OTEL_PROPAGATORS=", "OTEL_TRACES_EXPORTER=", "OTEL_BSP_MAX_QUEUE_SIZE=", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=",
            "OTEL_BSP_EXPORT_TIMEOUT=", "OTEL_EXPORTER_OTLP_TIMEOUT=", "OTEL_EXPORTER_OTLP_COMPRESSION=", "OTEL_EXPORTER_OTLP_HEADERS=",
            "OTEL_ATTRIBUTE_COUNT_LIMIT=", "OTEL_SPAN_EVENT_COUNT_LIMIT=", "OTEL_LOG_LEVEL=", "OTEL_DOTNET_AUTO_TRACES_INSTRUMENTATION_ENABLED=",
            "OTEL_DOTNET_AUTO_FAIL_FAST_ENABLED=", "OTEL_RESOURCE_ATTRIBUTES=",
            "OTEL_DOTNET_AUTO_TRACES_ENABLED=", "OTEL_DOTNET_AUTO_METRICS_ENABLED=", "OTEL_DOTNET_AUTO_LOGS_ENABLED=",
            "OTEL_DOTNET_AUTO_TRACES_ASPNETCORE_INSTRUMENTATION_ENABLED=", "OTEL_DOTNET_AUTO_METRICS_HTTPCLIENT_INSTRUMENTATION_ENABLED=",
            "OTEL_DOTNET_AUTO_LOGS_INCLUDE_FORMATTED_MESSAGE=", "OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION=",
            "TRACEAGENT_DB_QUERY_SANITIZATION_ENABLED=", "TRACEAGENT_SAMPLER_KEEP_ERRORS=", "TRACEAGENT_SAMPLER_KEEP_SLOWER_THAN_MS=",
            "TRACEAGENT_SAMPLER_KEEP_MAX_BUFFERED_SPANS=", "OTEL_BSP_SCHEDULE_DELAY=", "OTEL_BLRP_SCHEDULE_DELAY=", "OTEL_BLRP_EXPORT_TIMEOUT=",
            "OTEL_BLRP_MAX_QUEUE_SIZE=", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=",
            "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT=", "OTEL_SPAN_LINK_COUNT_LIMIT=", "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT=", "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT=",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT=", "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION=",
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=", "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT=", "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=",
            "OTEL_METRIC_EXPORT_INTERVAL=", "OTEL_METRIC_EXPORT_TIMEOUT=",
        })
        {
            Assert.Single(process.StandardError, l => l.Contains(" warn " + key, StringComparison.Ordinal));
        }

        // The defaults it fell back to still export.
        await receiver.WaitForSpansAsync(s => s.Count >= 2, Timeout);
    }

    [Fact]
    public async Task Span_limits_from_the_environment_apply_and_the_span_specific_names_win_over_the_generic_ones()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "limited").With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("CONSOLE_APP_EVENTS", "1"),
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "100"),
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "1"),
            ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "1"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "1"),
            ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "1"));

        using var process = await RunConsoleAsync(environment);
        Assert.Equal(5, process.ExitCode);
        Assert.DoesNotContain(process.StandardError, l => l.Contains(" warn ", StringComparison.Ordinal));

        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 2, Timeout);
        var root = Assert.Single(spans, s => s.Name == "console-root");
        var child = Assert.Single(spans, s => s.Name == "console-child");

        // The app set three attributes on the root: two kept, the first string cut to three characters.
        Assert.Equal(2, root.Attributes.Count);
        Assert.Equal(1u, root.DroppedAttributesCount);
        Assert.Equal("val", root.Attribute("test.attribute"));
        Assert.Equal(42L, root.Attribute("test.number"));

        // Two events of two attributes each: one kept, with one attribute.
        var kept = Assert.Single(root.Events);
        Assert.Equal(1u, root.DroppedEventsCount);
        Assert.Single(kept.Attributes);
        Assert.Equal(1u, kept.DroppedAttributesCount);

        // Two links of two attributes each: one kept, with one attribute.
        var link = Assert.Single(child.Links);
        Assert.Equal(1u, child.DroppedLinksCount);
        Assert.Equal(root.SpanId, link.SpanId);
        Assert.Single(link.Attributes);
        Assert.Equal(1u, link.DroppedAttributesCount);
    }

    [Fact]
    public async Task Tracing_switched_off_exports_nothing_at_all_where_the_same_app_exports_every_signal()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "switched").With(("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"));

        // On: the exit flushes spans and metrics alike (the runtime's meter at least).
        using (var on = await RunConsoleAsync(environment))
        {
            Assert.Equal(5, on.ExitCode);
        }

        Assert.Contains(receiver.Requests, r => r.Signal == "traces");
        Assert.Contains(receiver.Requests, r => r.Signal == "metrics");
        receiver.Clear();

        environment["OTEL_DOTNET_AUTO_TRACES_ENABLED"] = "false";
        using var off = await RunConsoleAsync(environment);
        Assert.Equal(5, off.ExitCode);
        Assert.Equal(["console app done"], off.StandardOutput);
        Assert.Contains(off.StandardError, l => l.Contains("OTEL_DOTNET_AUTO_TRACES_ENABLED=false: tracing is off", StringComparison.Ordinal));
        Assert.Equal(0, receiver.RequestCount);
    }

    [Theory]
    [InlineData("debug", true, true)]
    [InlineData("info", true, true)]
    [InlineData("warn", false, true)]
    [InlineData("error", false, false)]
    [InlineData("none", false, false)]
    public async Task The_log_level_holds_back_the_lines_below_it(string level, bool info, bool warnings)
    {
        // A bad value and a collector that is not there: a warning line each; the start-up summary is info.
        var environment = new Dictionary<string, string?>
        {
            ["DOTNET_STARTUP_HOOKS"] = RepoPaths.StartupHookPath,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:" + TcpPort.FreePort(),
            ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "2000",
            ["OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES"] = "TestApp.Console",
            ["OTEL_BSP_MAX_QUEUE_SIZE"] = "-1",
            ["OTEL_LOG_LEVEL"] = level,
        };

        using var process = await RunConsoleAsync(environment);

        Assert.Equal(5, process.ExitCode);
        Assert.Equal(["console app done"], process.StandardOutput);
        Assert.Equal(info, process.StandardError.Any(l => l.Contains(" info TraceAgent ", StringComparison.Ordinal)));
        Assert.Equal(warnings, process.StandardError.Any(l => l.Contains(" warn OTEL_BSP_MAX_QUEUE_SIZE=", StringComparison.Ordinal)));
        Assert.Equal(warnings, process.StandardError.Any(l => l.Contains(" warn traces export to ", StringComparison.Ordinal)));
        Assert.Equal(level == "debug", process.StandardError.Any(l => l.Contains(" debug ", StringComparison.Ordinal)));
        if (!warnings)
        {
            Assert.Empty(process.StandardError);
        }
    }

    [Fact]
    public async Task Sdk_disabled_excluded_processes_and_the_dotnet_cli_are_not_traced()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var baseEnvironment = AgentEnvironment.For(receiver, "not-traced").With(("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"));

        using (var disabled = await RunConsoleAsync(new Dictionary<string, string?>(baseEnvironment).With(("OTEL_SDK_DISABLED", "true"))))
        {
            Assert.Equal(5, disabled.ExitCode);
            Assert.Empty(disabled.StandardError);
        }

        using (var excluded = await RunConsoleAsync(new Dictionary<string, string?>(baseEnvironment).With(("OTEL_DOTNET_AUTO_EXCLUDE_PROCESSES", "other.exe, TestApplication.Console"))))
        {
            Assert.Equal(5, excluded.ExitCode);
            Assert.Empty(excluded.StandardError);
        }

        // By the host's name: the test apps run as `dotnet App.dll`.
        using (var excludedHost = await RunConsoleAsync(new Dictionary<string, string?>(baseEnvironment).With(("OTEL_DOTNET_AUTO_EXCLUDE_PROCESSES", "dotnet.exe"))))
        {
            Assert.Equal(5, excludedHost.ExitCode);
            Assert.Empty(excludedHost.StandardError);
        }

        using (var info = TestProcess.Start("dotnet", ["--info"], baseEnvironment))
        {
            await info.WaitForExitAsync(Timeout);
            Assert.Equal(0, info.ExitCode);
            Assert.Contains(info.StandardOutput, l => l.Contains(".NET SDK", StringComparison.Ordinal));
            Assert.DoesNotContain(info.Output, l => l.Contains("[traceagent]", StringComparison.Ordinal));
        }

        Assert.Equal(0, receiver.RequestCount);
    }

    /// <summary>
    /// DOTNET_STARTUP_HOOKS set for a whole container or CI job reaches the build too: `dotnet
    /// build` with an out-of-process MSBuild node and the compiler as its own process (no build
    /// servers) runs untraced in each of them, while the app it builds, started with the same
    /// variables, is traced. The log directory shows every process the agent ran in, whatever
    /// the build does with a tool's stderr.
    /// </summary>
    [Fact]
    public async Task Dotnet_build_msbuild_and_the_compiler_are_not_traced()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var project = Directory.CreateTempSubdirectory("traceagent-build-");
        try
        {
            var logs = project.CreateSubdirectory("logs");
            File.WriteAllText(Path.Combine(project.FullName, "built.csproj"), "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>");
            File.WriteAllText(Path.Combine(project.FullName, "Program.cs"), "System.Console.WriteLine(\"built app ran\");");
            var environment = AgentEnvironment.For(receiver, "built").With(
                ("OTEL_LOG_LEVEL", "debug"),
                ("OTEL_DOTNET_AUTO_LOG_DIRECTORY", logs.FullName),
                ("MSBUILDNOINPROCNODE", "1"));

            using (var build = TestProcess.Start(TestProcess.DotnetHost(), ["build", "--disable-build-servers", "-nologo", "-v:n", "-p:UseSharedCompilation=false"], environment, workingDirectory: project.FullName))
            {
                await build.WaitForExitAsync(TimeSpan.FromMinutes(3));
                Assert.True(build.ExitCode == 0, string.Join("\n", build.Output));

                // The build did run MSBuild out of process and the compiler as a tool of its own.
                Assert.Contains(build.StandardOutput, l => l.Contains(" on node 2 ", StringComparison.Ordinal));
                Assert.Contains(build.StandardOutput, l => l.Contains("CompilerServer: tool", StringComparison.Ordinal));
                Assert.DoesNotContain(build.Output, l => l.Contains("[traceagent]", StringComparison.Ordinal));
                Assert.Empty(logs.GetFiles());
            }

            using (var built = TestProcess.StartDotnet(Path.Combine(project.FullName, "bin", "Debug", "net10.0", "built.dll"), environment))
            {
                await built.WaitForExitAsync(Timeout);
                Assert.Equal(["built app ran"], built.StandardOutput);
                Assert.Contains(built.StandardError, l => l.Contains(" info TraceAgent ", StringComparison.Ordinal));
                Assert.Single(logs.GetFiles("traceagent-*.log"));
            }
        }
        finally
        {
            project.Delete(recursive: true);
        }
    }

    /// <summary>
    /// An app's own type set as a tag value, whose ToString throws: the agent meets it when it
    /// encodes the span (over OTLP, on the app's thread as the span ends; on the console, in its
    /// batch). It costs that attribute alone, counted as dropped; the span, the rest of its batch
    /// and the app are untouched, and one line names the type. The same span carries an array
    /// that holds itself, which once overflowed the encoder's stack and ended the app.
    /// </summary>
    [Theory]
    [InlineData("otlp")]
    [InlineData("console")]
    public async Task A_tag_value_whose_ToString_throws_costs_its_attribute_only(string exporter)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "bad-tag").With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("OTEL_TRACES_EXPORTER", exporter),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOG_LEVEL", "debug"),
            ("CONSOLE_APP_BAD_TAG", "1"));

        using var process = await RunConsoleAsync(environment, "return", "3");

        Assert.Equal(5, process.ExitCode);
        var fault = Assert.Single(process.StandardError, l => l.Contains(" fault contained in ", StringComparison.Ordinal));
        Assert.Contains("the ToString of an attribute value of type ThrowingToString (the attribute is dropped): InvalidOperationException: ToString fails on purpose", fault, StringComparison.Ordinal);
        Assert.Contains(process.StandardError, l => l.Contains("shut down: 6 spans exported, 0 dropped, 0 failed, 1 faults contained", StringComparison.Ordinal));
        if (exporter == "console")
        {
            Assert.Equal(6, process.StandardOutput.Count(l => l.StartsWith("span console-", StringComparison.Ordinal)));
            Assert.Equal(3, process.StandardOutput.Count(l => l == "    test.number=42"));
            Assert.DoesNotContain(process.StandardOutput, l => l.Contains("test.bad", StringComparison.Ordinal));
            Assert.Contains("    test.cycle=System.Object[]", process.StandardOutput);
            return;
        }

        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 6, Timeout);
        var roots = spans.Where(s => s.Name == "console-root").ToList();
        Assert.Equal(3, roots.Count);
        Assert.Equal(3, spans.Count(s => s.Name == "console-child"));
        Assert.All(roots, r => Assert.Equal(42L, r.Attribute("test.number")));
        Assert.All(roots, r => Assert.Null(r.Attribute("test.bad")));
        Assert.Equal([0u, 0u, 1u], roots.Select(r => r.DroppedAttributesCount).Order());
        Assert.Equal(new object?[] { "cycle", "System.Object[]" }, Assert.Single(roots, r => r.DroppedAttributesCount == 1).Attribute("test.cycle"));
    }

    [Fact]
    public async Task Samplers_decide_what_is_exported()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "sampled").With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("OTEL_TRACES_SAMPLER", "always_off"));
        using (var off = await RunConsoleAsync(environment, "return", "20"))
        {
            Assert.Equal(5, off.ExitCode);
        }

        Assert.Empty(receiver.Spans);

        environment["OTEL_TRACES_SAMPLER"] = "traceidratio";
        environment["OTEL_TRACES_SAMPLER_ARG"] = "0.5";
        using (var half = await RunConsoleAsync(environment, "return", "200"))
        {
            Assert.Equal(5, half.ExitCode);
        }

        var spans = receiver.Spans;
        var roots = spans.Count(s => s.Name == "console-root");
        Assert.InRange(roots, 50, 150);

        // Children follow their root's decision: every exported child has its exported parent.
        var ids = spans.Select(s => s.SpanId).ToHashSet();
        Assert.All(spans.Where(s => s.Name == "console-child"), c => Assert.Contains(c.ParentSpanId, ids));
        Assert.Equal(roots, spans.Count(s => s.Name == "console-child"));
    }

    [Fact]
    public async Task The_agent_log_reaches_a_piped_stderr_without_loading_System_Console()
    {
        // The web app writes nothing to the console itself (no logging providers).
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync("TestApplication.Web", AgentEnvironment.For(receiver, "quiet-web").With(("OTEL_BSP_SCHEDULE_DELAY", "soon")));
        await app.Process.WaitForOutputAsync("tracing service 'quiet-web'", Timeout);
        Assert.Single(app.Process.StandardError, l => l.StartsWith("[traceagent] ", StringComparison.Ordinal) && l.Contains(" warn OTEL_BSP_SCHEDULE_DELAY", StringComparison.Ordinal));

        var maps = File.ReadAllLines($"/proc/{app.Process.Id}/maps");
        Assert.Contains(maps, l => l.EndsWith("/TraceAgent.dll", StringComparison.Ordinal));
        Assert.DoesNotContain(maps, l => l.EndsWith("/System.Console.dll", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_agent_log_appends_to_a_stderr_file_after_what_was_written_there()
    {
        // stderr and stdout are one file the shell wrote to first: the agent's lines and the app's
        // follow in the order they were written, and none overwrites another.
        await using var receiver = await OtlpReceiver.StartAsync();
        var file = Path.Combine(Path.GetTempPath(), "traceagent-stderr-" + Guid.NewGuid().ToString("N") + ".log");
        try
        {
            var environment = AgentEnvironment.For(receiver, "file-stderr").With(("OTEL_LOG_LEVEL", "debug"), ("OTEL_BSP_SCHEDULE_DELAY", "soon"));
            using var process = TestProcess.Start(
                "/bin/sh",
                ["-c", "exec >\"$2\" 2>&1; echo shell-line >&2; exec \"$0\" \"$1\" return", TestProcess.DotnetHost(), RepoPaths.TestAppDll(ConsoleApp), file],
                environment);
            await process.WaitForExitAsync(Timeout);
            Assert.Equal(5, process.ExitCode);

            var lines = await File.ReadAllLinesAsync(file);
            Assert.Equal("shell-line", lines[0]);
            var started = Array.FindIndex(lines, l => l.Contains("tracing service 'file-stderr'", StringComparison.Ordinal));
            var done = Array.IndexOf(lines, "console app done");
            var shutDown = Array.FindIndex(lines, l => l.Contains("shut down:", StringComparison.Ordinal));
            Assert.True(started > 0 && done > started && shutDown > done, string.Join('\n', lines));
            Assert.All(lines.Skip(1).Where(l => l != "console app done"), l => Assert.StartsWith("[traceagent] ", l, StringComparison.Ordinal));
            Assert.Single(lines, l => l.Contains(" warn OTEL_BSP_SCHEDULE_DELAY", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task At_debug_each_instrumentation_says_when_it_starts_and_the_exit_gives_the_counts()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync("TestApplication.Web", AgentEnvironment.For(receiver, "debug-web").With(("OTEL_LOG_LEVEL", "debug")));
        using (var client = new HttpClient())
        {
            Assert.Equal("hello", await client.GetStringAsync(app.BaseUrl + "/hello"));
        }

        await receiver.WaitForSpansAsync(all => all.Any(s => (s.Attribute("url.path") as string) == "/hello"), Timeout);
        using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", app.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        await app.Process.WaitForExitAsync(Timeout);
        var errors = app.Process.StandardError;
        Assert.Single(errors, l => l.Contains(" debug instrumentation ASPNETCORE started for Microsoft.AspNetCore.Hosting ", StringComparison.Ordinal));
        Assert.Single(errors, l => l.Contains(" debug instrumentation HTTPCLIENT started for System.Net.Http ", StringComparison.Ordinal));

        // Every span the receiver got, counted at exit.
        var counts = System.Text.RegularExpressions.Regex.Match(errors.Single(l => l.Contains(" debug shut down: ", StringComparison.Ordinal) && l.Contains(" spans exported", StringComparison.Ordinal)), @"shut down: (\d+) spans exported, 0 dropped, 0 failed");
        Assert.True(counts.Success, string.Join("\n", errors));
        Assert.Equal(receiver.Spans.Count, int.Parse(counts.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Log_directory_gets_the_agent_log()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var directory = Directory.CreateTempSubdirectory("traceagent-logs");
        try
        {
            var environment = AgentEnvironment.For(receiver, "logged").With(
                ("OTEL_DOTNET_AUTO_LOG_DIRECTORY", directory.FullName),
                ("OTEL_LOG_LEVEL", "debug"));
            using var process = await RunConsoleAsync(environment);
            Assert.Equal(5, process.ExitCode);
            var file = Assert.Single(directory.GetFiles("traceagent-*.log"));
            var text = await File.ReadAllTextAsync(file.FullName);
            Assert.Contains("tracing service 'logged'", text, StringComparison.Ordinal);
            Assert.Contains("shut down:", text, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(true);
        }
    }

    [Fact]
    public async Task App_with_older_Microsoft_Extensions_exports_and_keeps_its_versions()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(receiver, "old-extensions").With(("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.OldExtensions"));
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll("TestApplication.OldExtensions"), environment);
        await process.WaitForExitAsync(Timeout);

        Assert.Equal(0, process.ExitCode);
        Assert.Contains("logging abstractions 8.0.0.0", process.StandardOutput);
        var spans = await receiver.WaitForSpansAsync(s => s.Any(x => x.Name == "old-extensions-work"), Timeout);
        Assert.Equal("old-extensions", spans[0].ServiceName);
    }

    [Fact]
    public async Task Self_contained_app_started_as_an_executable_exports()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var directory = RepoPaths.TestAppDirectory("TestApplication.SelfContained");
        var environment = AgentEnvironment.For(receiver, "self-contained").With(("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.SelfContained"));

        // Through instrument.sh, as a user would start it.
        using var process = TestProcess.Start(
            Path.Combine(RepoPaths.AgentDirectory, "instrument.sh"),
            [Path.Combine(directory, "TestApplication.SelfContained")],
            environment.With(("DOTNET_STARTUP_HOOKS", null)));
        await process.WaitForExitAsync(Timeout);

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(["self-contained done"], process.StandardOutput);
        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 1, Timeout);
        var span = Assert.Single(spans);
        Assert.Equal("self-contained-work", span.Name);

        // The runtime it ran on is the app's own copy, not the shared framework.
        Assert.Equal("TestApplication.SelfContained", span.Attribute("runtime.directory"));
        Assert.Equal("TestApplication.SelfContained", span.ResourceAttributes["process.executable.name"]);
    }

    [Fact]
    public async Task Instrument_script_keeps_an_existing_hook_and_uses_an_absolute_path()
    {
        var script = Path.Combine(RepoPaths.AgentDirectory, "instrument.sh");
        using var process = TestProcess.Start(
            "bash",
            ["-c", "cd / && \"$0\" printenv DOTNET_STARTUP_HOOKS", script],
            new Dictionary<string, string?> { ["DOTNET_STARTUP_HOOKS"] = "/opt/other/Hook.dll" },
            clearInheritedTelemetryVariables: false);
        await process.WaitForExitAsync(Timeout);
        Assert.Equal(0, process.ExitCode);
        Assert.Equal(["/opt/other/Hook.dll:" + Path.GetFullPath(RepoPaths.StartupHookPath)], process.StandardOutput);
    }

    /// <summary>The console app under the agent with the console and Zipkin exporters; the one Zipkin body posted.</summary>
    private static async Task<(TestProcess Process, string Json)> RunWithZipkinAsync((string Key, string? Value)[] settings)
    {
        var port = TcpPort.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var bodies = new List<string>();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (HttpListenerException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                lock (bodies)
                {
                    bodies.Add(body);
                }

                context.Response.StatusCode = 202;
                context.Response.Close();
            }
        });

        var environment = new Dictionary<string, string?>
        {
            ["DOTNET_STARTUP_HOOKS"] = RepoPaths.StartupHookPath,
            ["OTEL_SERVICE_NAME"] = "zipkin-app",
            ["OTEL_TRACES_EXPORTER"] = "console,zipkin",
            ["OTEL_EXPORTER_ZIPKIN_ENDPOINT"] = $"http://127.0.0.1:{port}/api/v2/spans",
            ["OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES"] = "TestApp.Console",
        }.With(settings);
        var process = await RunConsoleAsync(environment);
        listener.Stop();
        await serving;
        lock (bodies)
        {
            return (process, Assert.Single(bodies));
        }
    }

    [Fact]
    public async Task Zipkin_export_keeps_the_span_limits()
    {
        var (process, json) = await RunWithZipkinAsync(
        [
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "1"),
            ("CONSOLE_APP_EVENTS", "1"),
        ]);
        using (process)
        {
            Assert.Equal(5, process.ExitCode);
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "console-root");

            // The first two attributes, the text cut to 3 characters (numbers are not cut); one event of two.
            var tags = root.GetProperty("tags").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
            Assert.Equal(new Dictionary<string, string?> { ["test.attribute"] = "val", ["test.number"] = "42" }, tags);
            Assert.Equal(["console-event-1"], root.GetProperty("annotations").EnumerateArray().Select(a => a.GetProperty("value").GetString()));
        }
    }

    [Fact]
    public async Task Console_exporter_prints_spans_and_zipkin_exporter_posts_json()
    {
        var (process, json) = await RunWithZipkinAsync([]);

        using var owned = process;
        Assert.Equal(5, process.ExitCode);
        Assert.Contains(process.StandardOutput, l => l.StartsWith("span console-root [Internal] service=zipkin-app", StringComparison.Ordinal));
        using var document = JsonDocument.Parse(json);
        var spans = document.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, spans.Count);
        var root = spans.Single(s => s.GetProperty("name").GetString() == "console-root");
        var child = spans.Single(s => s.GetProperty("name").GetString() == "console-child");
        Assert.Equal(root.GetProperty("id").GetString(), child.GetProperty("parentId").GetString());
        Assert.Equal("CLIENT", child.GetProperty("kind").GetString());
        Assert.Equal("zipkin-app", root.GetProperty("localEndpoint").GetProperty("serviceName").GetString());
        Assert.Equal("42", root.GetProperty("tags").GetProperty("test.number").GetString());
        Assert.Equal(32, root.GetProperty("traceId").GetString()!.Length);
    }
}
