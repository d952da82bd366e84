using System.Globalization;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.Bench;

internal sealed record OutagePhase(string Name, double Rps, double P99Ms, double MaxRssMb, double EndRssMb, long Errors);

internal sealed record OutageResult(double BaselineRps, IReadOnlyList<OutagePhase> Phases, string? LossLine, long SpansAfterRestore);

/// <summary>The agent under load while its collector is up, then refusing connections, then back.</summary>
internal static class OutageBench
{
    public static async Task<OutageResult> RunAsync(BenchOptions options, Backends backends)
    {
        using var client = LoadBench.NewClient();
        int port = AppProcess.FreePort();
        var receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { HttpPort = port });
        long received = 0;
        receiver.SpansReceived += spans => Interlocked.Add(ref received, spans.Count);

        var app = Configurations.Get("none").App(options, "BenchApi");
        using var peer = AppProcess.Start(app, new Dictionary<string, string> { ["BENCH_ROLE"] = "peer" });
        Ready(peer, client, "peer");
        var env = backends.Environment();
        env["BENCH_PEER_URL"] = peer.BaseUrl;

        double baseline;
        using (var plain = AppProcess.Start(app, env))
        {
            Ready(plain, client, "no agent");
            Wrk.Run(plain.BaseUrl + "/work", options.Warmup);
            baseline = Wrk.Run(plain.BaseUrl + "/work", options.OutagePhase).RequestsPerSecond;
        }

        env["DOTNET_STARTUP_HOOKS"] = options.AgentHook;
        env["OTEL_SERVICE_NAME"] = "bench-api";
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.HttpEndpoint;
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        env["OTEL_METRICS_EXPORTER"] = "none";
        using var traced = AppProcess.Start(app, env);
        Ready(traced, client, "agent");
        var url = traced.BaseUrl + "/work";
        Wrk.Run(url, options.Warmup);
        var phases = new List<OutagePhase>
        {
            Measure("collector up", traced, url, options.OutagePhase),
        };

        await receiver.DisposeAsync();
        phases.Add(Measure("collector down (connection refused)", traced, url, options.OutagePhase + options.OutagePhase));

        receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { HttpPort = port });
        long after = 0;
        receiver.SpansReceived += spans => Interlocked.Add(ref after, spans.Count);
        phases.Add(Measure("collector back", traced, url, options.OutagePhase));

        // Wait for one scheduled export after the load so that "spans after restore" is settled.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Interlocked.Read(ref after) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await receiver.DisposeAsync();
        string? loss = traced.ErrorLines.LastOrDefault(l => l.Contains("lost so far", StringComparison.Ordinal));
        return new OutageResult(baseline, phases, loss, Interlocked.Read(ref after));
    }

    private static void Ready(AppProcess app, HttpClient client, string what) =>
        (app.WaitUntilServing(client, TimeSpan.FromSeconds(60)) ?? throw new InvalidOperationException($"{what} did not start:\n{app.Describe()}")).Dispose();

    private static OutagePhase Measure(string name, AppProcess app, string url, TimeSpan duration)
    {
        long maxRss = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                maxRss = Math.Max(maxRss, app.StatusKb("VmRSS"));
                try
                {
                    await Task.Delay(250, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });
        var result = Wrk.Run(url, duration);
        stop.Cancel();
        sampler.GetAwaiter().GetResult();
        long end = app.StatusKb("VmRSS");
        maxRss = Math.Max(maxRss, end);
        var phase = new OutagePhase(name, result.RequestsPerSecond, result.P99Ms, maxRss / 1024.0, end / 1024.0, result.Errors);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"outage {name}: {phase.Rps:0} req/s, p99 {phase.P99Ms:0.00} ms, max RSS {phase.MaxRssMb:0} MB"));
        return phase;
    }
}
