using System.Globalization;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;
using Xunit.Abstractions;

namespace TraceAgent.IntegrationTests.Reliability;

/// <summary>
/// The web app under a bounded load while the collector misbehaves: every answer stays right,
/// latency and memory stay bounded, retryable rejections are retried and the rest dropped and
/// counted, and export resumes once the collector is back.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class CollectorFaultTests(ITestOutputHelper output)
{
    public enum Fault
    {
        /// <summary>The collector is stopped between two bursts: connections are refused.</summary>
        Refused,

        /// <summary>The collector accepts export requests and never answers.</summary>
        Hang,
        Status500,
        Status503RetryAfter,
        Status429RetryAfter,
        Status429,

        /// <summary>HTTP 200 with bytes that are no protobuf message.</summary>
        Garbage,

        /// <summary>The collector stops in the middle of a burst and a new one starts on the same port.</summary>
        AwayAndBack,
    }

    private const string App = "TestApplication.Web";
    private const int Requests = 2000;
    private const int Warmup = 300;
    private const int Concurrency = 8;
    private const int RecoveryRequests = 100;
    private const double LatencyAllowanceMilliseconds = 500;
    private const long HeapAllowanceBytes = 64L * 1024 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(Fault.Refused, false)]
    [InlineData(Fault.Hang, false)]
    [InlineData(Fault.Status500, false)]
    [InlineData(Fault.Status503RetryAfter, false)]
    [InlineData(Fault.Status429RetryAfter, false)]
    [InlineData(Fault.Status429, false)]
    [InlineData(Fault.Garbage, false)]
    [InlineData(Fault.AwayAndBack, false)]
    [InlineData(Fault.Status503RetryAfter, true)]
    [InlineData(Fault.Status500, true)]
    [InlineData(Fault.Hang, true)]
    public async Task Under_load_the_app_stays_correct_and_bounded_and_export_resumes(Fault fault, bool grpc)
    {
        var options = new OtlpReceiverOptions { HttpPort = TcpPort.FreePort(), GrpcPort = TcpPort.FreePort() };
        var receiver = await OtlpReceiver.StartAsync(options);
        try
        {
            var environment = AgentEnvironment.For(receiver, "fault-" + fault.ToString().ToLowerInvariant(), grpc).With(
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"));
            using var app = await WebApp.StartAsync(App, environment);
            using var client = Load.NewClient(Concurrency);
            try
            {
                await receiver.WaitForSpansAsync(s => s.Any(x => IsServer(x, WebApp.ReadinessPath)), Timeout);

                if (ModeFor(fault) is { } mode)
                {
                    await CheckRetrySemanticsAsync(receiver, app, client, mode, grpc);
                }

                // Baseline: the same app and agent with a healthy collector.
                await Load.RunAsync(client, app.BaseUrl, Warmup, Concurrency, _ => "/hello", _ => "hello");
                var baseline = await Load.RunAsync(client, app.BaseUrl, Requests, Concurrency, _ => "/hello", _ => "hello");
                Assert.True(baseline.Correct == Requests, baseline + "\n" + string.Join("\n", baseline.Failures.Take(10)));
                await receiver.WaitForSpansAsync(s => s.Count(x => IsServer(x, "/hello")) >= Warmup + Requests, Timeout);
                var baselineHeap = await Probe.GcHeapAsync(client, app.BaseUrl);
                var baselineProcess = Probe.Read(app.Process.Id);

                // The fault, under the same load.
                var linesBeforeFault = app.Process.Output.Count;
                LoadResult faulted;
                if (fault == Fault.AwayAndBack)
                {
                    (receiver, faulted) = await AwayAndBackUnderLoadAsync(receiver, options, app, client);
                }
                else
                {
                    if (fault == Fault.Refused)
                    {
                        await receiver.DisposeAsync();
                    }
                    else
                    {
                        receiver.Mode = ModeFor(fault) ?? (fault == Fault.Hang ? ReceiverMode.Hang : ReceiverMode.Garbage);
                    }

                    faulted = await Load.RunAsync(client, app.BaseUrl, Requests, Concurrency, _ => "/hello", _ => "hello");
                }

                Assert.True(faulted.Correct == faulted.Sent, faulted + "\n" + string.Join("\n", faulted.Failures.Take(10)));
                var faultHeap = await Probe.GcHeapAsync(client, app.BaseUrl);
                var faultProcess = Probe.Read(app.Process.Id);

                if (fault != Fault.Garbage)
                {
                    // A 200 with an unreadable body is taken as accepted (the agent does not parse
                    // answers); every other fault fails an export of this phase's spans (a warning,
                    // the only one this app's trace exporter prints), and says so before the
                    // collector heals. Waited for after the fault began: the retry check above may
                    // have printed a failure already, and the loss summary (one line per 10 s at
                    // most) may still be its line.
                    await app.Process.WaitForOutputAsync("warn traces export to ", linesBeforeFault, Timeout);
                    await app.Process.WaitForOutputAsync("spans lost so far", Timeout);
                }

                // Recovery: the collector is back (a new one on the same port, or healthy again).
                if (fault == Fault.Refused)
                {
                    receiver = await OtlpReceiver.StartAsync(options);
                }
                else
                {
                    receiver.Mode = ReceiverMode.Normal;
                }

                var recovery = await Load.RunAsync(client, app.BaseUrl, RecoveryRequests, Concurrency, i => "/items/" + (800_000 + i).ToString(CultureInfo.InvariantCulture), i => "{\"id\":" + (800_000 + i).ToString(CultureInfo.InvariantCulture) + "}");
                Assert.Equal(RecoveryRequests, recovery.Correct);
                await receiver.WaitForSpansAsync(s => s.Count(x => x.Kind == SpanKinds.Server && (x.Attribute("url.path") as string)?.StartsWith("/items/8", StringComparison.Ordinal) == true) >= RecoveryRequests, Timeout);
                if (fault != Fault.Garbage)
                {
                    // The first export that succeeds after the fault's failures says so.
                    await app.Process.WaitForOutputAsync("traces export to ", linesBeforeFault, Timeout);
                    await app.Process.WaitForOutputAsync(" works again", linesBeforeFault, Timeout);
                }

                var exportFailureLines = app.Process.StandardError.Count(l => l.Contains("export to", StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal));
                var lossLines = app.Process.StandardError.Count(l => l.Contains("spans lost so far", StringComparison.Ordinal));
                Report(
                    $"{fault}{(grpc ? " (grpc)" : string.Empty)}",
                    $"baseline {baseline}; heap {Mb(baselineHeap)}; {baselineProcess}",
                    $"fault    {faulted}; heap {Mb(faultHeap)}; {faultProcess}",
                    $"recovery {recovery}; {exportFailureLines} export-failure lines, {lossLines} loss lines",
                    app.Process.StandardError.LastOrDefault(l => l.Contains("spans lost so far", StringComparison.Ordinal)) ?? "(no loss line)");

                // Generous bounds: the point is that the app does not wait for the collector.
                Assert.True(
                    faulted.P99Milliseconds < baseline.P99Milliseconds + LatencyAllowanceMilliseconds,
                    $"p99 under fault {faulted.P99Milliseconds:0.0} ms, baseline {baseline.P99Milliseconds:0.0} ms");
                Assert.True(faultHeap < baselineHeap + HeapAllowanceBytes, $"heap under fault {Mb(faultHeap)}, baseline {Mb(baselineHeap)}");

                // One line per kind of failure, not one per batch.
                Assert.True(exportFailureLines <= 4, string.Join("\n", app.Process.StandardError));
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException(app.Process.Describe(ex.Message), ex);
            }
        }
        finally
        {
            await receiver.DisposeAsync();
        }
    }

    /// <summary>
    /// Each gRPC status the OTLP specification names, one app each: CANCELLED, DEADLINE_EXCEEDED,
    /// ABORTED, OUT_OF_RANGE and DATA_LOSS get the batch sent again (UNAVAILABLE and
    /// RESOURCE_EXHAUSTED are in the theory above); INVALID_ARGUMENT, PERMISSION_DENIED,
    /// UNIMPLEMENTED and UNAUTHENTICATED drop it at once.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(15)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(12)]
    [InlineData(16)]
    public async Task Each_grpc_status_is_retried_or_dropped_as_the_specification_says(int grpcStatus)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(App, AgentEnvironment.For(receiver, "grpc-status-" + grpcStatus.ToString(CultureInfo.InvariantCulture), grpc: true));
        using var client = Load.NewClient(1);
        await receiver.WaitForSpansAsync(s => s.Any(x => IsServer(x, WebApp.ReadinessPath)), Timeout);
        await CheckRetrySemanticsAsync(receiver, app, client, ReceiverMode.Status(500, grpcStatusCode: grpcStatus), grpc: true);
    }

    /// <summary>
    /// With no load: one span is exported into the fault, then the collector heals and a second
    /// span is sent. Retryable answers (OTLP: HTTP 429/502/503/504, gRPC UNAVAILABLE..., and
    /// RESOURCE_EXHAUSTED with RetryInfo) get the same batch sent again; any other is dropped at once. Exports
    /// run one at a time, so once the second span has arrived the first one's fate is settled.
    /// </summary>
    private async Task CheckRetrySemanticsAsync(OtlpReceiver receiver, WebApp app, HttpClient client, ReceiverMode mode, bool grpc)
    {
        const int First = 900_001;
        const int Second = 900_002;
        receiver.Mode = mode;
        Assert.Equal("{\"id\":900001}", await client.GetStringAsync(app.BaseUrl + "/items/" + First.ToString(CultureInfo.InvariantCulture)));
        await receiver.WaitForRequestsAsync(r => r.Any(q => q.Mode == mode), Timeout);
        receiver.Mode = ReceiverMode.Normal;
        Assert.Equal("{\"id\":900002}", await client.GetStringAsync(app.BaseUrl + "/items/" + Second.ToString(CultureInfo.InvariantCulture)));
        var spans = await receiver.WaitForSpansAsync(s => s.Any(x => IsServer(x, "/items/900002")), Timeout);

        var requests = receiver.Requests;
        var firstFaulted = requests.ToList().FindIndex(r => r.Mode == mode);
        var faultedCount = requests.Count(r => r.Mode == mode);
        var retryable = grpc
            ? mode.GrpcStatusCode is 1 or 4 or 10 or 11 or 14 or 15 || (mode.GrpcStatusCode == 8 && mode.RetryAfterSeconds is not null)
            : mode.HttpStatusCode is 429 or 502 or 503 or 504;
        if (retryable)
        {
            Assert.Contains(spans, x => IsServer(x, "/items/900001"));

            // The retry is the same batch, byte for byte: the first accepted request after the
            // rejection has the rejected one's size.
            var retry = requests.Skip(firstFaulted + 1).First(r => r.Mode == ReceiverMode.Normal);
            Assert.Equal(requests[firstFaulted].BodyLength, retry.BodyLength);
        }
        else
        {
            Assert.DoesNotContain(spans, x => IsServer(x, "/items/900001"));
            Assert.Equal(1, faultedCount);
        }

        Report($"retry semantics {mode}{(grpc ? " (grpc)" : string.Empty)}", $"{faultedCount} rejected attempt(s), first span {(retryable ? "re-sent and accepted" : "dropped")}");
    }

    /// <summary>The collector goes away in the middle of a burst and a new one comes up on the same port.</summary>
    private static async Task<(OtlpReceiver Receiver, LoadResult Result)> AwayAndBackUnderLoadAsync(OtlpReceiver receiver, OtlpReceiverOptions options, WebApp app, HttpClient client)
    {
        using var stop = new CancellationTokenSource();
        var before = receiver.RequestCount;
        var load = Load.RunAsync(client, app.BaseUrl, 200_000, Concurrency, _ => "/hello", _ => "hello", stop.Token);
        try
        {
            await receiver.WaitForRequestsAsync(r => r.Count >= before + 2, Timeout);
            await receiver.DisposeAsync();
            await app.Process.WaitForOutputAsync("Connection refused", Timeout);
            receiver = await OtlpReceiver.StartAsync(options);
            await receiver.WaitForSpansAsync(s => s.Count(x => IsServer(x, "/hello")) >= 100, Timeout);
        }
        finally
        {
            await stop.CancelAsync();
        }

        return (receiver, await load);
    }

    private static ReceiverMode? ModeFor(Fault fault) => fault switch
    {
        Fault.Status500 => ReceiverMode.Status(500),
        Fault.Status503RetryAfter => ReceiverMode.Status(503, retryAfterSeconds: 1),
        Fault.Status429RetryAfter => ReceiverMode.Status(429, retryAfterSeconds: 1),
        Fault.Status429 => ReceiverMode.Status(429),
        _ => null,
    };

    private static bool IsServer(ReceivedSpan span, string path) =>
        span.Kind == SpanKinds.Server && (span.Attribute("url.path") as string) == path;

    private static string Mb(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MB";

    private void Report(string title, params string[] lines)
    {
        var text = title + ":\n  " + string.Join("\n  ", lines);
        output.WriteLine(text);
        Figures.Append(text);
    }
}
