using System.Diagnostics;
using System.Globalization;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;
using Xunit.Abstractions;

namespace TraceAgent.IntegrationTests.Reliability;

/// <summary>A web host stopped by SIGTERM (what every orchestrator sends) under the agent.</summary>
[Collection(ReliabilityCollection.Name)]
public sealed class ShutdownTests(ITestOutputHelper output)
{
    private const string App = "TestApplication.Web";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SIGTERM_to_a_web_host_flushes_the_last_requests_span_and_the_host_shuts_down_gracefully()
    {
        await using var receiver = await OtlpReceiver.StartAsync();

        // Nothing is exported on the schedule: only the flush at shutdown can deliver the span.
        var environment = AgentEnvironment.For(receiver, "sigterm-web").With(("OTEL_BSP_SCHEDULE_DELAY", "600000"));
        using var app = await WebApp.StartAsync(App, environment);
        using var client = new HttpClient();
        Assert.Equal("{\"id\":424242}", await client.GetStringAsync(app.BaseUrl + "/items/424242"));
        Assert.Equal(0, receiver.RequestCount);

        var elapsed = await TerminateAsync(app.Process);

        Assert.Equal(0, app.Process.ExitCode);
        Assert.Contains("web app stopped", app.Process.StandardOutput);
        var span = Assert.Single(receiver.Spans, s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == "/items/424242");
        Assert.Equal("sigterm-web", span.ServiceName);
        Report("SIGTERM, healthy collector", elapsed);
    }

    [Fact]
    public async Task SIGTERM_flushes_the_log_records_still_queued_with_their_span()
    {
        await using var receiver = await OtlpReceiver.StartAsync();

        // Neither schedule ever fires: only the flush at shutdown can deliver the record and the span.
        var environment = AgentEnvironment.For(receiver, "sigterm-logs").With(
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "600000"));
        using var app = await WebApp.StartAsync("TestApplication.Logging", environment);
        using var client = new HttpClient();
        Assert.Equal("logged", await client.GetStringAsync(app.BaseUrl + "/log?marker=at-sigterm"));
        Assert.Empty(receiver.Logs);

        await TerminateAsync(app.Process);

        Assert.Equal(0, app.Process.ExitCode);
        var record = Assert.Single(receiver.Logs, l => l.Attributes.TryGetValue("Marker", out var marker) && (marker as string) == "at-sigterm");
        var span = Assert.Single(receiver.Spans, s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == "/log");
        Assert.Equal(span.TraceId, record.TraceId);
        Assert.Equal(span.SpanId, record.SpanId);
    }

    [Fact]
    public async Task SIGTERM_with_a_hanging_collector_exits_within_the_shutdown_budget()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Hang;

        // The default export timeout (10 s): the agent's shutdown budget is min(timeout, 5 s).
        var environment = AgentEnvironment.For(receiver, "sigterm-hang");
        using var app = await WebApp.StartAsync(App, environment);
        using var client = new HttpClient();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("hello", await client.GetStringAsync(app.BaseUrl + "/hello"));
        }

        await receiver.WaitForRequestsAsync(r => r.Count >= 1, Timeout);
        var elapsed = await TerminateAsync(app.Process);

        Assert.Equal(0, app.Process.ExitCode);
        Assert.Contains("web app stopped", app.Process.StandardOutput);
        Assert.Contains(app.Process.StandardError, l => l.Contains("not all exported within", StringComparison.Ordinal));
        Report("SIGTERM, hanging collector", elapsed);

        // One shutdown budget (5 s) for the signal's flush and the host's exit together, plus the
        // host's own stop; far below the 30 s an orchestrator waits before SIGKILL.
        Assert.True(elapsed < TimeSpan.FromSeconds(9), $"exit took {elapsed.TotalSeconds:0.0} s");
    }

    private static async Task<TimeSpan> TerminateAsync(TestProcess process)
    {
        var started = Stopwatch.GetTimestamp();
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return Stopwatch.GetElapsedTime(started);
    }

    private void Report(string title, TimeSpan elapsed)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{title}: exited {elapsed.TotalMilliseconds:0} ms after the signal");
        output.WriteLine(text);
        Figures.Append(text);
    }
}
