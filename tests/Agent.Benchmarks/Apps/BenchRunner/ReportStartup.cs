using System.Globalization;

namespace TraceAgent.Bench;

internal sealed partial class Report
{
    private const string StartupTarget = "start-up: at most +30 ms of CPU (app using all six libraries at start)";
    private string? _net8Startup;

    public void Startup(IReadOnlyList<Configuration> configurations, StartupResult result)
    {
        var runs = result.Runs;
        var paired = new PairedRuns<StartupRun>(runs);

        S.AppendLine("## 2. Start-up");
        S.AppendLine();
        S.AppendLine(F($"Exec to the first `200` from `GET /hello` of tests/Agent.Benchmarks/Apps/BenchStartup, polled every millisecond. Before it serves, the app makes one HttpClient call, one PostgreSQL query through Npgsql and one through EF Core, connects to Redis and runs one command, and makes a Kafka producer that sends one message and a consumer that reads it back (librdkafka mock cluster): all six instrumented libraries load and do work. CPU is the process's own CPU time (every thread, ended ones included) read by the app when it answers that first request (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`, ns; `/proc` counts 10 ms ticks, too coarse for this). {paired.RunNumbers.Count} runs; in each, every configuration is started at the same moment as a start of its baseline (no agent), the two sharing the machine, the configurations one after the other in an order rotated from run to run; one unmeasured start of each first. Each difference is the configuration's start against the baseline start made with it, so that what else the machine does weighs on both alike: times to the first response are those of two starts at once. The row of a second start is the baseline paired with itself: its spread is the method's own."));
        S.AppendLine();
        S.AppendLine("| configuration | exec to first response (ms) | CPU at that moment (ms) | CPU added (ms, paired) | time added (ms, paired) | hook initialisation (ms, the agent's own figure) |");
        S.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var c in configurations)
        {
            var hooks = runs.Where(r => r.Key == c.Key && r.HookMs is not null).Select(r => r.HookMs!.Value).ToList();
            string cpuAdded = c.IsBaseline ? "-" : paired.Delta(c.Key, r => r.CpuMs).Format("+0;-0;0");
            string wallAdded = c.IsBaseline ? "-" : paired.Delta(c.Key, r => r.WallMs).Format("+0;-0;0");
            S.AppendLine(F($"| {c.Label} | {paired.Values(c.Key, r => r.WallMs).Median:0} | {paired.Values(c.Key, r => r.CpuMs).Median:0} | {cpuAdded} | {wallAdded} | {(hooks.Count == 0 ? "-" : Spread.Of(hooks).Median.ToString("0", CultureInfo.InvariantCulture))} |"));
        }

        S.AppendLine();
        if (configurations.Any(c => c.Key == "agent-no-instr") && configurations.Any(c => c.Key == "agent"))
        {
            var instrumentations = paired.DeltaLess("agent", "agent-no-instr", r => r.CpuMs);
            S.AppendLine(F($"Split of the agent's CPU at start-up: the hook, settings, pipeline and exporter set-up (every instrumentation switched off, against no agent) {paired.Delta("agent-no-instr", r => r.CpuMs).Format("+0;-0;0", " ms")}; the instrumentations (in each run, what the agent added less what it added with them off) {instrumentations.Format("+0;-0;0", " ms")}."));
            S.AppendLine();
        }

        // Where the CPU added went, by thread: the main thread's work is the start's own; the
        // others' depends also on how long the start took (the tiered JIT compiling in the
        // background, librdkafka's threads polling, the thread pool's workers spinning).
        S.AppendLine("CPU added at the first response by thread (ms, paired as above; from the app's own reading of each live thread's clock, `X-Thread-Cpu-Ns`). *main*: the main thread, where the startup hooks run, then the app's code until its first `await` that does not complete at once; *thread pool*: the runtime's pool workers, which run the rest of the app's start-up as continuations and spin while they wait for work; *GC*: the server GC's threads; *JIT*: the runtime's tiered-compilation thread, which compiles hot methods again in the background; *Kafka*: librdkafka's threads; *tracer*: the tracer's own threads (export, metrics); *other*: the other live threads (Kestrel's, the runtime's); *ended*: threads that ended before the first response.");
        S.AppendLine();
        S.AppendLine("| configuration | main | thread pool | GC | JIT | Kafka | tracer | other | ended |");
        S.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var c in configurations.Where(c => !c.IsBaseline))
        {
            var cells = StartupRun.ThreadGroups.Select(g => paired.Delta(c.Key, r => r.ThreadCpuMs.GetValueOrDefault(g)).Format("+0;-0;0"));
            S.AppendLine(F($"| {c.Label} | {string.Join(" | ", cells)} |"));
        }

        S.AppendLine();
        S.AppendLine("What the JIT compiled in each configuration's first (unmeasured) start, from exec to the graceful stop after its first response (`DOTNET_JitDisasmSummary=1`; lists in artifacts/bench/jit/, beside each start's stderr: `BENCH_STARTUP_LOG_LEVEL=debug` adds the agent's time to start each instrumentation). The tracer's own methods are those of `TraceAgent.*` and `OpenTelemetry.*`; compiled at tier 0 means no precompiled (ReadyToRun) code was used for them.");
        S.AppendLine();
        S.AppendLine("| configuration | methods compiled | the tracer's own | of them at tier 0 |");
        S.AppendLine("|---|---:|---:|---:|");
        foreach (var c in configurations)
        {
            if (result.FirstStartJit.TryGetValue(c.Key, out var jit))
            {
                S.AppendLine(F($"| {c.Label} | {jit.Methods} | {jit.TracerMethods} | {jit.TracerTier0} |"));
            }
        }

        S.AppendLine();
        AppendRunTable(
            "Each run, CPU at the first response in ms: each configuration's start, then the baseline start made with it:",
            configurations,
            paired,
            r => r.CpuMs);
        // Judged on the agent as a user gets it: with metrics, when that configuration ran.
        if (configurations.Any(c => c.Key == "agent-metrics"))
        {
            var added = paired.Delta("agent-metrics", r => r.CpuMs);
            var tracing = configurations.Any(c => c.Key == "agent") ? F($"; tracing alone {paired.Delta("agent", r => r.CpuMs).Format("+0;-0;0", " ms")}") : "";
            _targets.Add((StartupTarget, F($"the agent as configured by default (with metrics) {added.Format("+0;-0;0", " ms")}{tracing}"), StartupVerdict(added, paired)));
        }
        else if (configurations.Any(c => c.Key == "agent"))
        {
            var added = paired.Delta("agent", r => r.CpuMs);
            _targets.Add((StartupTarget, added.Format("+0;-0;0", " ms"), StartupVerdict(added, paired)));
        }
        else
        {
            NotMeasured(StartupTarget);
        }

        if (configurations.Any(c => c.Key == "net8-agent"))
        {
            _net8Startup = F($".NET 8 start-up: the agent adds {paired.Delta("net8-agent", r => r.CpuMs).Format("+0;-0;0", " ms")} of CPU.");
        }

        foreach (var c in configurations)
        {
            long spans = result.FirstStartSpans.GetValueOrDefault(c.Key);
            bool traces = c.Spans != SpansExpected.None && !c.Settings.ContainsKey("OTEL_DOTNET_AUTO_TRACES_INSTRUMENTATION_ENABLED");
            Check(traces ? spans > 0 : spans == 0, F($"{c.Label}: its first start sent {spans} spans ({(traces ? "some" : "none")} expected)"), hard: true);
        }

        foreach (var c in configurations.Where(c => c.Tracer == Tracer.Agent))
        {
            int missing = runs.Count(r => r.Key == c.Key && r.HookMs is null);
            Check(missing == 0, F($"{c.Label}: {missing} start(s) without the agent's start-up line (was the agent loaded?)"), hard: true);
        }
    }

    // A run whose second start without the agent, paired the same way, moved by more than the
    // target's 30 ms cannot tell a start that meets it from one that does not: the verdict says so
    // beside the rounds' count, which that run's machine decided as much as the agent did.
    private static string StartupVerdict(Spread added, PairedRuns<StartupRun> paired)
    {
        var verdict = Verdicts.AtMost(added, 30);
        var own = paired.Delta("none-again", r => r.CpuMs);
        return own.IsEmpty || own.Values.Max(Math.Abs) <= 30
            ? verdict
            : F($"{verdict}; **not resolved** by this run: a second start without the agent moved by {own.Format("+0;-0;0", " ms")}, more than the target");
    }
}
