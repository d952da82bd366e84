using System.Globalization;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.Bench;

internal sealed record OutagePhase(string Name, double Rps, double P99Ms, double MaxRssMb, double EndRssMb, long Errors);

internal sealed record OutageResult(double BaselineRps, IReadOnlyList<OutagePhase> Phases, string? LossLine, long SpansAfterRestore);

/// <summary>The agent under load while its collector is up, then refusing connections, then back.</summary>
internal static class OutageBench
{
    public static async Task<OutageResult> RunAsync(BenchOptions options, IReadOnlyDictionary<string, string> backends)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        int port = AppProcess.FreePort();
        var receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { HttpPort = port });
        long received = 0;
        receiver.SpansReceived += spans => Interlocked.Add(ref received, spans.Count);

        double baseline;
        var none = Configuration.None(options);
        using (var plain = AppProcess.Start(none.Dll, none.With(backends)))
        {
            plain.WaitUntilServing(client, TimeSpan.FromSeconds(30));
            Wrk.Run(plain.BaseUrl + "/work", options.WarmupDuration);
            baseline = Wrk.Run(plain.BaseUrl + "/work", options.OutagePhase).RequestsPerSecond;
        }

        var agent = Configuration.Agent(options, receiver.HttpEndpoint);
        using var app = AppProcess.Start(agent.Dll, agent.With(backends));
        if (!app.WaitUntilServing(client, TimeSpan.FromSeconds(30)))
        {
            throw new InvalidOperationException("agent app did not start: " + string.Join("\n", app.ErrorLines));
        }

        var url = app.BaseUrl + "/work";
        Wrk.Run(url, options.WarmupDuration);
        var phases = new List<OutagePhase>
        {
            Measure("collector up", app, url, options.OutagePhase),
        };

        await receiver.DisposeAsync();
        phases.Add(Measure("collector down (connection refused)", app, url, options.OutagePhase + options.OutagePhase));

        receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { HttpPort = port });
        long after = 0;
        receiver.SpansReceived += spans => Interlocked.Add(ref after, spans.Count);
        phases.Add(Measure("collector back", app, url, options.OutagePhase));

        // Wait for one scheduled export after the load so that "spans after restore" is settled.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Interlocked.Read(ref after) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await receiver.DisposeAsync();
        string? loss = app.ErrorLines.LastOrDefault(l => l.Contains("lost so far", StringComparison.Ordinal));
        return new OutageResult(baseline, phases, loss, Interlocked.Read(ref after));
    }

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
