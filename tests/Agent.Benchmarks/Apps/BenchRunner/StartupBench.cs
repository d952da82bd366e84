using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace TraceAgent.Bench;

internal sealed record StartupSample(double WallMs, double CpuMs, double ThreadsMs, double? HookMs);

/// <summary>Process start to the first 200 from /hello, interleaved over the configurations.</summary>
internal static partial class StartupBench
{
    public static Dictionary<string, List<StartupSample>> Run(BenchOptions options, IReadOnlyList<Configuration> configurations)
    {
        var results = configurations.ToDictionary(c => c.Key, _ => new List<StartupSample>());
        using var client = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), PooledConnectionLifetime = TimeSpan.Zero })
        {
            Timeout = TimeSpan.FromSeconds(5),
        };

        // Warm the poller so that its own first-call costs land in no measurement.
        AppProcess.TryGet(client, string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{AppProcess.FreePort()}/hello"));
        using (var warm = AppProcess.Start(options.PlainApp, new Dictionary<string, string>()))
        {
            warm.WaitUntilServing(client, TimeSpan.FromSeconds(30));
        }

        for (int run = 0; run < options.StartupRuns; run++)
        {
            foreach (var configuration in configurations)
            {
                var clock = Stopwatch.StartNew();
                using var app = AppProcess.Start(configuration.Dll, configuration.Environment);
                if (!app.WaitUntilServing(client, TimeSpan.FromSeconds(30)))
                {
                    throw new InvalidOperationException($"{configuration.Label} did not start: " + string.Join("\n", app.ErrorLines));
                }

                double wall = clock.Elapsed.TotalMilliseconds;
                double cpu = app.CpuTime().TotalMilliseconds;
                double threads = app.ThreadsRunTime().TotalMilliseconds;
                double? hook = null;
                var hookDeadline = Stopwatch.StartNew();
                while (configuration.Environment.ContainsKey("DOTNET_STARTUP_HOOKS") && hook is null && hookDeadline.ElapsedMilliseconds < 2000)
                {
                    // stderr is read asynchronously: the summary line may still be on its way.
                    hook = HookMilliseconds(app.ErrorLines);
                    if (hook is null)
                    {
                        Thread.Sleep(10);
                    }
                }

                results[configuration.Key].Add(new StartupSample(wall, cpu, threads, hook));
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"startup {run + 1}/{options.StartupRuns} {configuration.Key}: {wall:0} ms wall, {cpu:0} ms cpu, {threads:0.0} ms threads, hook {hook?.ToString(CultureInfo.InvariantCulture) ?? "-"} ms"));
            }
        }

        return results;
    }

    public static double? HookMilliseconds(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            var match = StartedIn().Match(line);
            if (match.Success)
            {
                return double.Parse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    [GeneratedRegex(@"started in (\d+(?:\.\d+)?) ms")]
    private static partial Regex StartedIn();
}
