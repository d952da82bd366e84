using System.Globalization;

namespace TraceAgent.Bench;

/// <summary>
/// Two configurations whose difference is smaller than the load part's round-to-round spread (a
/// fresh pair of processes per run, minutes apart): here both pairs are started once and warmed
/// up, then measured together, each under its own wrk over the same seconds, so that what the
/// machine does meanwhile (other tenants, the hypervisor, frequency) falls on both alike.
/// </summary>
/// <remarks>
/// A <see cref="FirstSeconds"/> row starts both pairs afresh in every round and measures one window
/// after the load part's unmeasured seconds, as that part's first window does.
/// </remarks>
internal sealed record PairedComparison(string Key, string BaseKey, string TestKey, string Target, double Limit, bool FirstSeconds = false);

internal sealed record PairedRun(string Comparison, bool Test, int Round, Window Window);

internal static class PairedBench
{
    public const string SteadyCpuTarget = "steady state: CPU per request (both services) at most 1.05x";

    public const string KeepErrorsTarget = "sampling policies: at 1%, TRACEAGENT_SAMPLER_KEEP_ERRORS=true adds at most 5% CPU per request";

    public const string OffTarget = "sampler off (always_off): CPU per request (both services) at most 1.01x";

    public const string MetricsTarget = "metrics (default interval) add at most 1% CPU per request on top of tracing";

    /// <summary>
    /// The first, with no target of its own: the same configuration in both pairs. Its spread is
    /// the method's own on this machine, and a median away from 1 would be a bias between the
    /// pairs (the base pair is started and loaded first). <c>tracing-sdk</c>, <c>off-sdk</c> and
    /// <c>metrics-sdk</c> have no target either: they place the agent's tracing, sampler-off and
    /// metrics rows beside the OpenTelemetry SDK's.
    /// </summary>
    public static IReadOnlyList<PairedComparison> Comparisons { get; } =
    [
        new("same", "none", "none", "", 0),
        // The steady state's CPU per request, over the same seconds: the load part's rounds, fresh
        // processes minutes apart, spread by more than the 5% the target allows (0.62x to 1.40x
        // in the full run at 95cb107, where these windows gave 1.13x to 1.31x). The SDK set-up
        // beside it, without a target.
        new("tracing", "none", "agent", SteadyCpuTarget, 1.05),
        new("tracing-sdk", "none", "sdk", "", 0),
        // No target: the agent against the SDK set-up directly, making the same spans (its Redis
        // instrumentation off, as the SDK set-up has none), over the same seconds. Below 1 the
        // agent costs less for the same trace.
        new("agent-sdk", "sdk", "agent-sdk-spans", "", 0),
        // No target: what the Redis instrumentation adds to a request in the load (one GET a
        // request), the per-operation part's Redis row measuring it alone.
        new("redis", "agent-sdk-spans", "agent", "", 0),
        // No target: the first seconds of fresh processes, both pairs at the same age over the same
        // seconds. In the load part the same configuration's first window moved by a third between
        // rounds minutes apart (the agent against the SDK set-up from 0.58x to 1.28x in the full
        // run at 8388554). The first-seconds targets stay on that part's throughput, as the issue
        // defines them: two pairs sharing the machine split it by the scheduler's share of their
        // threads, not by what each could serve alone, so CPU per request is what these rows add.
        new("first", "none", "agent", "", 0, FirstSeconds: true),
        new("first-sdk", "sdk", "agent", "", 0, FirstSeconds: true),
        // The same with the same spans (the agent's Redis instrumentation off, as in agent-sdk):
        // how much of the first seconds' difference is the Redis span the SDK set-up does not make.
        new("first-sdk-spans", "sdk", "agent-sdk-spans", "", 0, FirstSeconds: true),
        // No target: the floor and the agent over it (as `floor` and `agent-floor` below) in the
        // first seconds: how much of what fresh processes pay is the frameworks' own tracing
        // paths (made hot, and compiled, for any listener) and how much the agent's work.
        new("first-floor", "none", "floor", "", 0, FirstSeconds: true),
        new("first-agent-floor", "floor", "agent-sdk-spans", "", 0, FirstSeconds: true),
        // No target: the floor under any tracer built on the runtime's ActivitySource (a listener
        // that records the frameworks' spans and does nothing with them) against no listener, and
        // the agent making the same spans (its Redis instrumentation off) against that floor: what
        // the agent itself adds. The steady-state target is judged on `tracing`, which is both.
        new("floor", "none", "floor", "", 0),
        new("agent-floor", "floor", "agent-sdk-spans", "", 0),
        new("keep-errors", "ratio1", "ratio1-keep", KeepErrorsTarget, 1.05),
        // No target: the floor of the keep-errors row, what the frameworks do for a span that is
        // recorded rather than only propagated (the floor's listener recording every span against
        // the same listener propagating only), before anything holds or drops it.
        new("keep-floor", "floor-off", "floor", "", 0),
        new("off", "none", "off", OffTarget, 1.01),
        // No target: the agent's sampler-off row against the SDK set-up with the same sampler,
        // both paying what the framework does once anything listens (an Activity per request and
        // per HttpClient call, the trace context injected and extracted).
        new("off-sdk", "sdk-off", "off", "", 0),
        // No target: the floor of the sampler-off row, a listener that only propagates the
        // frameworks' context (each request's Activity made, nothing recorded), against no listener.
        new("off-floor", "none", "floor-off", "", 0),
        new("metrics", "agent", "agent-metrics", MetricsTarget, 1.01),
        // No target: what the SDK set-up's metrics add to its tracing, the same meters enabled
        // (the framework's own instruments then record on every request, whoever listens).
        new("metrics-sdk", "sdk", "sdk-metrics", "", 0),
        // No target: the floor of the metrics row, what the frameworks' own instruments cost once
        // anything listens to them (a listener that turns them on and keeps nothing), on top of the
        // tracing floor: the part of the metrics row that is not the agent's.
        new("metrics-floor", "floor", "floor-metrics", "", 0),
        // No target, and only with --base-agent DIR: this build of the agent against another one
        // (a change measured over the same seconds, both at 100%; `first-change` in the first seconds).
        new(ChangeKey, Configuration.BaseAgentKey, "agent", "", 0),
        new(FirstChangeKey, Configuration.BaseAgentKey, "agent", "", 0, FirstSeconds: true),
    ];

    public const string ChangeKey = "change";

    public const string FirstChangeKey = "first-change";

    /// <summary>Rounds: more than the load part's, as each costs one window and no start.</summary>
    public static int Rounds(BenchOptions options) => options.RoundsOverride is int rounds ? rounds * 2 : options.Quick ? 1 : 8;

    /// <summary>The comparisons of this run: all of them, or those picked with --comparisons.</summary>
    public static IEnumerable<PairedComparison> Selected(BenchOptions options) =>
        Keyed.Picked(Comparisons, c => c.Key, options.Comparisons, "comparison")
            .Where(c => c.Key is not (ChangeKey or FirstChangeKey) || options.BaseAgent is not null || options.Comparisons is not null);

    public static List<PairedRun> Run(BenchOptions options, OtlpSink sink, Backends backends)
    {
        var runs = new List<PairedRun>();
        using var client = LoadBench.NewClient();
        // Each pair gets about half the machine: twice as long as the load part's steady window
        // waits makes as many requests before the first window (the tiered JIT has settled).
        var warmup = 2 * (options.Warmup + options.Window + options.Between);
        foreach (var comparison in Selected(options))
        {
            if (comparison.FirstSeconds)
            {
                runs.AddRange(RunFirstSeconds(options, sink, backends, client, comparison));
                continue;
            }

            using var basePair = ServicePair.Start(options, Configurations.Get(comparison.BaseKey), sink, backends, client);
            using var testPair = ServicePair.Start(options, Configurations.Get(comparison.TestKey), sink, backends, client);

            Wrk.RunTogether([basePair.WorkUrl, testPair.WorkUrl], warmup);
            for (int round = 0; round < Rounds(options); round++)
            {
                var windows = LoadBench.MeasureTogether(options, [basePair, testPair], sink, options.Window);
                runs.Add(new PairedRun(comparison.Key, false, round, windows[0]));
                runs.Add(new PairedRun(comparison.Key, true, round, windows[1]));
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"paired round {round + 1}/{Rounds(options)} {comparison.Key}: {comparison.BaseKey} {windows[0].Rps:0} req/s {windows[0].CpuUs:0} us/req, {comparison.TestKey} {windows[1].Rps:0} req/s {windows[1].CpuUs:0} us/req, test / base {windows[1].CpuUs / windows[0].CpuUs:0.000}, machine {windows[0].MachineBusyPercent:0}% busy, foreign {windows[0].ForeignPercent:0}%"));
            }

            basePair.Stop();
            testPair.Stop();
        }

        return runs;
    }

    /// <summary>
    /// Every round, both pairs started afresh (which one first alternates), put under load together
    /// for the load part's unmeasured seconds, then measured over one window, and stopped.
    /// </summary>
    private static IEnumerable<PairedRun> RunFirstSeconds(BenchOptions options, OtlpSink sink, Backends backends, HttpClient client, PairedComparison comparison)
    {
        for (int round = 0; round < Rounds(options); round++)
        {
            ServicePair? basePair = null;
            ServicePair? testPair = null;
            try
            {
                if (round % 2 == 0)
                {
                    basePair = ServicePair.Start(options, Configurations.Get(comparison.BaseKey), sink, backends, client);
                    testPair = ServicePair.Start(options, Configurations.Get(comparison.TestKey), sink, backends, client);
                }
                else
                {
                    testPair = ServicePair.Start(options, Configurations.Get(comparison.TestKey), sink, backends, client);
                    basePair = ServicePair.Start(options, Configurations.Get(comparison.BaseKey), sink, backends, client);
                }

                Wrk.RunTogether([basePair.WorkUrl, testPair.WorkUrl], options.Warmup);
                var windows = LoadBench.MeasureTogether(options, [basePair, testPair], sink, options.Window);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"paired round {round + 1}/{Rounds(options)} {comparison.Key}: {comparison.BaseKey} {windows[0].Rps:0} req/s {windows[0].CpuUs:0} us/req, {comparison.TestKey} {windows[1].Rps:0} req/s {windows[1].CpuUs:0} us/req, req/s test / base {windows[1].Rps / windows[0].Rps:0.000}, machine {windows[0].MachineBusyPercent:0}% busy, foreign {windows[0].ForeignPercent:0}%"));
                basePair.Stop();
                testPair.Stop();
                yield return new PairedRun(comparison.Key, false, round, windows[0]);
                yield return new PairedRun(comparison.Key, true, round, windows[1]);
            }
            finally
            {
                basePair?.Dispose();
                testPair?.Dispose();
            }
        }
    }
}
