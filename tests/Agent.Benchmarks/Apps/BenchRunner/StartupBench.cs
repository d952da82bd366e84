using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace TraceAgent.Bench;

/// <summary>One start: exec to the first 200 from /hello, and the process's CPU at that moment.</summary>
internal sealed record StartupRun(string Key, int Run, double WallMs, double CpuMs, double StatCpuMs, double? HookMs) : IPairedRun
{
    /// <summary>The groups of threads BenchStartup splits its CPU into (its X-Thread-Cpu-Ns header).</summary>
    public static readonly string[] ThreadGroups = ["main", "pool", "gc", "jit", "kafka", "tracer", "other", "ended"];

    /// <summary>CPU in ms by group of threads (<see cref="ThreadGroups"/>) at the first response.</summary>
    public IReadOnlyDictionary<string, double> ThreadCpuMs { get; init; } = new Dictionary<string, double>();

    /// <summary>For a baseline start: the configuration started at the same moment, its pair.</summary>
    public string? PairedWith { get; init; }
}

/// <summary>What the JIT compiled in a first start: all methods, the tracer's own, and those of them at tier 0.</summary>
internal sealed record JitCount(int Methods, int TracerMethods, int TracerTier0);

/// <summary>The start-up part: every measured start, and what each configuration's unmeasured first start sent and compiled.</summary>
internal sealed record StartupResult(IReadOnlyList<StartupRun> Runs, IReadOnlyDictionary<string, long> FirstStartSpans, IReadOnlyDictionary<string, JitCount> FirstStartJit);

/// <summary>
/// Start-up of BenchStartup (all six instrumented libraries used before the first response): in
/// every run, each configuration started at the same moment as a start of its baseline, order
/// rotated; each difference is taken within its pair.
/// </summary>
internal static partial class StartupBench
{
    public static StartupResult Run(BenchOptions options, IReadOnlyList<Configuration> configurations, OtlpSink sink, Backends backends)
    {
        var runs = new List<StartupRun>();
        using var client = LoadBench.NewClient();

        // The peer the app calls once at start: plain, up for the whole part.
        using var peer = AppProcess.Start(Configurations.Get("none").App(options, "BenchApi"), new Dictionary<string, string> { ["BENCH_ROLE"] = "peer" });
        (peer.WaitUntilServing(client, TimeSpan.FromSeconds(60)) ?? throw new InvalidOperationException("the peer did not start:\n" + peer.Describe())).Dispose();

        // One start unmeasured, so that the first measured one finds the files in the page cache.
        // It ends with a graceful stop, so that what its tracer holds is sent: proof that the
        // configuration traced (the measured starts are killed once they answer).
        // The runtime also lists every method it compiles in that start, with its tier.
        var firstStartSpans = new Dictionary<string, long>();
        var firstStartJit = new Dictionary<string, JitCount>();
        var jitDirectory = Path.Combine(options.Artifacts, "jit");
        Directory.CreateDirectory(jitDirectory);
        foreach (var configuration in configurations)
        {
            var route = "startup-first-" + configuration.Key;
            var jitFile = Path.Combine(jitDirectory, configuration.Key + ".txt");
            File.Delete(jitFile);
            // Its stderr is kept beside the JIT list. BENCH_STARTUP_LOG_LEVEL=debug has the agent
            // log each instrumentation's start time there (not by default: the debug lines' own
            // code would join the JIT list).
            var extra = new Dictionary<string, string>
            {
                ["DOTNET_JitStdOutFile"] = jitFile,
                ["DOTNET_JitDisasmSummary"] = "1",
            };
            if (configuration.Tracer == Tracer.Agent && Environment.GetEnvironmentVariable("BENCH_STARTUP_LOG_LEVEL") is { Length: > 0 } level)
            {
                extra["OTEL_LOG_LEVEL"] = level;
            }

            RunOne(options, configuration, sink, backends, peer, client, -1, route, extra, Path.Combine(jitDirectory, configuration.Key + "-stderr.txt"));
            firstStartSpans[configuration.Key] = sink.Snapshot(route).Spans;
            firstStartJit[configuration.Key] = CountJit(jitFile);
        }

        // Each configuration is started at the same moment as its own start of the baseline, the
        // two sharing the machine: in a trial on this machine, two starts without the agent made
        // seconds apart differed by up to 121 ms of CPU (whatever else ran meanwhile weighed on one
        // of them only), several times the 30 ms the target allows.
        for (int run = 0; run < options.StartupRuns; run++)
        {
            foreach (var configuration in LoadBench.Rotate([.. configurations.Where(c => !c.IsBaseline)], run))
            {
                var (baseStart, result) = PairedStarts.Run(run, configuration, which => RunOne(options, which, sink, backends, peer, client, run));
                var baseResult = baseStart with { PairedWith = configuration.Key };
                runs.Add(baseResult);
                runs.Add(result);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"startup {run + 1}/{options.StartupRuns} {configuration.Key}: {result.CpuMs:0.0} ms cpu against {baseResult.CpuMs:0.0} ({result.CpuMs - baseResult.CpuMs:+0;-0}), {result.WallMs:0} ms wall against {baseResult.WallMs:0}, hook {result.HookMs?.ToString("0", CultureInfo.InvariantCulture) ?? "-"} ms; by thread {string.Join(", ", StartupRun.ThreadGroups.Select(g => $"{g} {result.ThreadCpuMs[g] - baseResult.ThreadCpuMs[g]:+0;-0}"))}"));
            }
        }

        return new StartupResult(runs, firstStartSpans, firstStartJit);
    }

    /// <summary>Lines "N: JIT compiled Namespace.Type:Method(...) [Tier0, ...]" of DOTNET_JitDisasmSummary.</summary>
    private static JitCount CountJit(string file)
    {
        if (!File.Exists(file))
        {
            return new JitCount(0, 0, 0);
        }

        var lines = File.ReadLines(file).Where(l => l.Contains("JIT compiled ", StringComparison.Ordinal)).ToList();
        var tracer = lines.Where(l => l.Contains("compiled TraceAgent.", StringComparison.Ordinal) || l.Contains("compiled OpenTelemetry.", StringComparison.Ordinal)).ToList();
        return new JitCount(lines.Count, tracer.Count, tracer.Count(l => l.Contains("Tier0", StringComparison.Ordinal)));
    }

    private static StartupRun RunOne(BenchOptions options, Configuration configuration, OtlpSink sink, Backends backends, AppProcess peer, HttpClient client, int run, string route = "startup", IReadOnlyDictionary<string, string>? extra = null, string? stderrFile = null)
    {
        var env = configuration.Environment(options, sink.BaseUrl, route, "bench-startup");
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        foreach (var (key, value) in backends.Environment())
        {
            env[key] = value;
        }

        env["BENCH_PEER_URL"] = peer.BaseUrl;
        var clock = Stopwatch.StartNew();
        using var app = AppProcess.Start(configuration.App(options, "BenchStartup"), env);
        using var response = app.WaitUntilServing(client, TimeSpan.FromSeconds(60))
            ?? throw new InvalidOperationException($"{configuration.Label} did not start:\n{app.Describe()}");
        double wall = clock.Elapsed.TotalMilliseconds;
        double stat = app.Stat().Ticks * (1000 / ProcStat.TicksPerSecond);
        double cpu = long.Parse(response.Headers.GetValues("X-Process-Cpu-Ns").Single(), NumberStyles.Integer, CultureInfo.InvariantCulture) / 1e6;
        double? hook = null;
        if (configuration.Tracer == Tracer.Agent)
        {
            // stderr is read asynchronously: the summary line may still be on its way.
            var deadline = Stopwatch.StartNew();
            while ((hook = HookMilliseconds(app.ErrorLines)) is null && deadline.ElapsedMilliseconds < 2000)
            {
                Thread.Sleep(10);
            }
        }

        if (run < 0)
        {
            app.Stop(TimeSpan.FromSeconds(10));
            if (stderrFile is not null)
            {
                File.WriteAllLines(stderrFile, app.ErrorLines);
            }
        }

        var threads = response.Headers.GetValues("X-Thread-Cpu-Ns").Single().Split(';')
            .Select(p => p.Split('='))
            .ToDictionary(p => p[0], p => long.Parse(p[1], NumberStyles.Integer, CultureInfo.InvariantCulture) / 1e6);
        return new StartupRun(configuration.Key, run, wall, cpu, stat, hook) { ThreadCpuMs = threads };
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
