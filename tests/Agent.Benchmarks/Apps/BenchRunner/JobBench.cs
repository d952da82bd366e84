using System.Diagnostics;
using System.Globalization;

namespace TraceAgent.Bench;

/// <summary>One job: exec to exit, the process's CPU at its last exit handler, and the spans its tracer sent.</summary>
internal sealed record JobRun(string Key, int Run, double WallMs, double CpuMs, long Spans) : IPairedRun
{
    /// <summary>For a baseline job: the configuration started at the same moment, its pair.</summary>
    public string? PairedWith { get; init; }
}

/// <summary>
/// A process that lives only as long as its work: BenchStartup as a job (BENCH_JOB_CPU_FILE), the
/// start-up part's work with no web host, then its clients closed and the process ended. Unlike the
/// start-up part, which stops the clock at the first response, this counts everything a tracer
/// costs such a process: its start, its spans, and sending them at exit. Paired as the start-up
/// part is: each configuration started at the same moment as a start of its baseline.
/// </summary>
internal static class JobBench
{
    public static readonly string[] DefaultConfigurations = ["none", "none-again", "agent", "agent-metrics", "sdk"];

    public static IReadOnlyList<JobRun> Run(BenchOptions options, IReadOnlyList<Configuration> configurations, OtlpSink sink, Backends backends)
    {
        var runs = new List<JobRun>();
        using var client = LoadBench.NewClient();
        using var peer = AppProcess.Start(Configurations.Get("none").App(options, "BenchApi"), new Dictionary<string, string> { ["BENCH_ROLE"] = "peer" });
        (peer.WaitUntilServing(client, TimeSpan.FromSeconds(60)) ?? throw new InvalidOperationException("the peer did not start:\n" + peer.Describe())).Dispose();

        // One job of each unmeasured, so that the measured ones find the files in the page cache.
        foreach (var configuration in configurations)
        {
            RunOne(options, configuration, sink, backends, peer, -1);
        }

        for (int run = 0; run < options.StartupRuns; run++)
        {
            foreach (var configuration in LoadBench.Rotate([.. configurations.Where(c => !c.IsBaseline)], run))
            {
                var (baseJob, result) = PairedStarts.Run(run, configuration, which => RunOne(options, which, sink, backends, peer, run));
                var baseResult = baseJob with { PairedWith = configuration.Key };
                runs.Add(baseResult);
                runs.Add(result);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"job {run + 1}/{options.StartupRuns} {configuration.Key}: {result.CpuMs:0.0} ms cpu against {baseResult.CpuMs:0.0} ({result.CpuMs - baseResult.CpuMs:+0;-0}), {result.WallMs:0} ms wall against {baseResult.WallMs:0}, {result.Spans} spans"));
            }
        }

        return runs;
    }

    private static JobRun RunOne(BenchOptions options, Configuration configuration, OtlpSink sink, Backends backends, AppProcess peer, int run)
    {
        // A route of its own for each job, so that two jobs at once are counted apart.
        var route = string.Create(CultureInfo.InvariantCulture, $"job-{configuration.Key}-{run + 1}");
        var env = configuration.Environment(options, sink.BaseUrl, route, "bench-job");
        foreach (var (key, value) in backends.Environment())
        {
            env[key] = value;
        }

        var cpuFile = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"bench-job-{Environment.ProcessId}-{route}.txt"));
        File.Delete(cpuFile);
        env["BENCH_PEER_URL"] = peer.BaseUrl;
        env["BENCH_JOB_CPU_FILE"] = cpuFile;
        var clock = Stopwatch.StartNew();
        using var app = AppProcess.Start(configuration.App(options, "BenchStartup"), env, web: false);
        int exit = app.WaitForExit(TimeSpan.FromSeconds(60));
        double wall = clock.Elapsed.TotalMilliseconds;
        if (exit != 0 || !File.Exists(cpuFile))
        {
            throw new InvalidOperationException($"{configuration.Label}: the job ended with {exit}{(File.Exists(cpuFile) ? "" : ", without writing its CPU time")}:\n{app.Describe()}");
        }

        double cpu = long.Parse(File.ReadAllText(cpuFile).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) / 1e6;
        File.Delete(cpuFile);

        // The tracer sends at exit and waits for the answer: what it sent is counted by now.
        return new JobRun(configuration.Key, run, wall, cpu, sink.Snapshot(route).Spans);
    }
}
