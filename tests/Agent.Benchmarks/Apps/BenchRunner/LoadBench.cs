using System.Diagnostics;
using System.Globalization;

namespace TraceAgent.Bench;

internal sealed record LoadSample(double Rps, double P50Ms, double P99Ms, double CpuUsPerRequest, double PeakMb, double ReceiverCpuUsPerRequest, long Errors);

/// <summary>wrk against /work (HttpClient to the peer, Redis GET, PostgreSQL query), interleaved rounds.</summary>
internal static class LoadBench
{
    public static Dictionary<string, List<LoadSample>> Run(BenchOptions options, IReadOnlyList<Configuration> configurations, IReadOnlyDictionary<string, string> backends)
    {
        var results = configurations.ToDictionary(c => c.Key, _ => new List<LoadSample>());
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var self = Process.GetCurrentProcess();
        for (int round = 0; round < options.LoadRounds; round++)
        {
            foreach (var configuration in configurations)
            {
                using var app = AppProcess.Start(configuration.Dll, configuration.With(backends));
                if (!app.WaitUntilServing(client, TimeSpan.FromSeconds(30)))
                {
                    throw new InvalidOperationException($"{configuration.Label} did not start: " + string.Join("\n", app.ErrorLines));
                }

                var url = app.BaseUrl + "/work";
                using (var check = client.GetAsync(url).GetAwaiter().GetResult())
                {
                    if (!check.IsSuccessStatusCode)
                    {
                        throw new InvalidOperationException($"{url} answered {(int)check.StatusCode}: {check.Content.ReadAsStringAsync().GetAwaiter().GetResult()}");
                    }
                }

                Wrk.Run(url, options.WarmupDuration);
                var cpuBefore = app.CpuTime();
                self.Refresh();
                var receiverBefore = self.TotalProcessorTime;
                var result = Wrk.Run(url, options.LoadDuration);
                var cpuAfter = app.CpuTime();
                self.Refresh();
                var receiverAfter = self.TotalProcessorTime;
                var sample = new LoadSample(
                    result.RequestsPerSecond,
                    result.P50Ms,
                    result.P99Ms,
                    (cpuAfter - cpuBefore).TotalMicroseconds / Math.Max(1, result.Requests),
                    app.StatusKb("VmHWM") / 1024.0,
                    (receiverAfter - receiverBefore).TotalMicroseconds / Math.Max(1, result.Requests),
                    result.Errors);
                results[configuration.Key].Add(sample);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load round {round + 1}/{options.LoadRounds} {configuration.Key}: {sample.Rps:0} req/s, p50 {sample.P50Ms:0.00} ms, p99 {sample.P99Ms:0.00} ms, {sample.CpuUsPerRequest:0} us cpu/req, peak {sample.PeakMb:0} MB, errors {sample.Errors}"));
            }
        }

        return results;
    }
}
