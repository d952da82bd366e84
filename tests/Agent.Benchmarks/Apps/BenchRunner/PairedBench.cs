using System.Globalization;

namespace TraceAgent.Bench;

/// <summary>
/// Two configurations whose difference is smaller than the load part's round-to-round spread (a
/// fresh pair of processes per run, minutes apart): here both pairs are started once and warmed
/// up, then measured in alternating windows, the order reversed every round (A B, B A, ...), so
/// that each ratio compares windows seconds apart on the same processes.
/// </summary>
internal sealed record PairedComparison(string Key, string BaseKey, string TestKey, string Target, double Limit);

internal sealed record PairedRun(string Comparison, bool Test, int Round, Window Window);

internal static class PairedBench
{
    public const string KeepErrorsTarget = "sampling policies: at 1%, TRACEAGENT_SAMPLER_KEEP_ERRORS=true adds at most 5% CPU per request";

    public const string OffTarget = "sampler off (always_off): CPU per request (both services) at most 1.01x";

    public const string MetricsTarget = "metrics (default interval) add at most 1% CPU per request on top of tracing";

    public static IReadOnlyList<PairedComparison> Comparisons { get; } =
    [
        new("keep-errors", "ratio1", "ratio1-keep", KeepErrorsTarget, 1.05),
        new("off", "none", "off", OffTarget, 1.01),
        new("metrics", "agent", "agent-metrics", MetricsTarget, 1.01),
    ];

    /// <summary>Rounds: more than the load part's, as each costs two windows and no start.</summary>
    public static int Rounds(BenchOptions options) => options.RoundsOverride is int rounds ? rounds * 2 : options.Quick ? 1 : 8;

    public static List<PairedRun> Run(BenchOptions options, OtlpSink sink, Backends backends)
    {
        var runs = new List<PairedRun>();
        using var client = LoadBench.NewClient();
        var warmup = options.Warmup + options.Window + options.Between;
        foreach (var comparison in Comparisons)
        {
            using var basePair = ServicePair.Start(options, Configurations.Get(comparison.BaseKey), sink, backends, client);
            using var testPair = ServicePair.Start(options, Configurations.Get(comparison.TestKey), sink, backends, client);

            // As long as the load part's steady window waits: the tiered JIT has settled.
            Wrk.Run(basePair.WorkUrl, warmup);
            Wrk.Run(testPair.WorkUrl, warmup);
            for (int round = 0; round < Rounds(options); round++)
            {
                foreach (var test in round % 2 == 0 ? new[] { false, true } : [true, false])
                {
                    var window = LoadBench.Measure(options, test ? testPair : basePair, sink, options.Window);
                    runs.Add(new PairedRun(comparison.Key, test, round, window));
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"paired round {round + 1}/{Rounds(options)} {comparison.Key} {(test ? comparison.TestKey : comparison.BaseKey)}: {window.Rps:0} req/s {window.CpuUs:0} us/req, machine {window.MachineBusyPercent:0}% busy, foreign {window.ForeignPercent:0}%"));
                }
            }

            basePair.Stop();
            testPair.Stop();
        }

        return runs;
    }
}
