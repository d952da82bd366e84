namespace TraceAgent.Bench;

internal sealed partial class Report
{
    public void Paired(IReadOnlyList<PairedRun> runs)
    {
        S.AppendLine("## 1b. Paired windows: the small differences");
        S.AppendLine();
        S.AppendLine(F($"The load part's rounds spread by ±10% or more (fresh processes, minutes apart): too much to judge a 1% or 5% target. Here, for each comparison, the load part's two services are started under both configurations at once (four processes) and both pairs are put under the same `/work` load at the same time, each by its own wrk (-c16): first {2 * (_options.Warmup + _options.Window + _options.Between).TotalSeconds:0} s unmeasured (each pair at about half the machine: as many requests as the load part's steady window waits for), then {PairedBench.Rounds(_options)} windows of {_options.Window.TotalSeconds:0} s. A round's ratio divides the test pair's CPU per request (both services, `/proc`) by the base pair's over the same seconds, so that what else the machine does in a window (other tenants, the hypervisor) weighs on both alike. Each pair gets about half the machine, so CPU per request here is not the load part's figure. The first row, `same`, has no agent in either pair: its spread is the method's own on this machine, and a median away from 1 would be a bias between the two pairs."));
        S.AppendLine();
        S.AppendLine(F($"The rows `first`, `first-sdk`, `first-sdk-spans`, `first-floor` and `first-agent-floor` (and `first-change`, when named) measure the first seconds instead: in each of their {PairedBench.Rounds(_options)} rounds both pairs are started afresh (which one first alternates), loaded together for {_options.Warmup.TotalSeconds:0} s unmeasured, then measured over one {_options.Window.TotalSeconds:0} s window and stopped: the load part's first window, both pairs at the same age over the same seconds, each with about half the machine. They have no target: the first-seconds targets are on the load part's throughput, each configuration with the machine to itself. Here the two pairs split the machine by the scheduler's share of their threads, so their throughput ratio is not what each could serve alone; their CPU per request is comparable."));
        S.AppendLine();
        S.AppendLine("The rows `floor`, `agent-floor`, `keep-floor`, `off-floor` and `metrics-floor` have no target; they split what the agent costs. `floor` is the frameworks' own work once a tracer built on the runtime's `ActivitySource` records their spans: no tracer, only a listener on the ASP.NET Core, HttpClient and Npgsql sources that samples every span and does nothing with it (tests/Agent.Benchmarks/Apps/OtelSdkHook with `BENCH_FLOOR=record`), so the frameworks make, tag, propagate and stop the spans as they would for any such tracer. `agent-floor` is the agent making the same spans (its Redis instrumentation off) against that floor: what the agent's own work adds. `off-floor` is the same listener propagating the context and recording nothing (`BENCH_FLOOR=propagate`): the floor of the sampler-off row. `keep-floor` is the recording listener against the propagating one: what the frameworks do for a span that is recorded rather than only propagated, the floor of the keep-errors row, whose 1% recording every request makes the frameworks do it for all of them. `metrics-floor` adds to the recording listener a `MeterListener` that turns on every instrument of the meters the agent turns on by default and does nothing with the measurements (`BENCH_FLOOR_METRICS=1`), against the recording listener alone: what the frameworks' own instruments cost once anything listens to them, the floor of the metrics row. `first-floor` and `first-agent-floor` are `floor` and `agent-floor` in the first seconds.");
        S.AppendLine();
        if (runs.Any(r => r.Comparison is PairedBench.ChangeKey or PairedBench.FirstChangeKey))
        {
            S.AppendLine(F($"The row `change` has no target: this build of the agent against the one in {_options.BaseAgent} (`--base-agent`), both at 100% sampling; `first-change` the same in the first seconds."));
            S.AppendLine();
        }

        S.AppendLine("| comparison | base | test | base CPU/req (µs) | test CPU/req (µs) | CPU per request, test / base: median [min to max] | added (µs/req) | req/s, test / base |");
        S.AppendLine("|---|---|---|---:|---:|---:|---:|---:|");
        foreach (var c in PairedBench.Comparisons)
        {
            var mine = runs.Where(r => r.Comparison == c.Key).ToList();
            if (mine.Count == 0)
            {
                if (c.Target.Length > 0)
                {
                    NotMeasured(c.Target);
                }

                continue;
            }

            Spread Of(bool test, Func<Window, double> metric) => Spread.Of(mine.Where(r => r.Test == test).Select(r => metric(r.Window)));
            var ratio = Between(mine, w => w.CpuUs, (t, b) => t / b);
            S.AppendLine(F($"| {c.Key} | {Configurations.Get(c.BaseKey).Label} | {Configurations.Get(c.TestKey).Label} | {Of(false, w => w.CpuUs).Median:0.0} | {Of(true, w => w.CpuUs).Median:0.0} | {ratio.Format("0.000", "x")} | {Between(mine, w => w.CpuUs, (t, b) => t - b).Format("+0.0;-0.0;0")} | {Between(mine, w => w.Rps, (t, b) => t / b).Format("0.00", "x")} |"));
            if (c.Target.Length > 0)
            {
                _targets.Add((c.Target, F($"{Configurations.Get(c.TestKey).Label} against {Configurations.Get(c.BaseKey).Label}, paired windows: {ratio.Format("0.000", "x")}"), Verdicts.AtMost(ratio, c.Limit)));
            }
        }

        S.AppendLine();
        S.AppendLine("Each round, CPU per request of both services (µs), base and test, and the machine's other CPU in the window:");
        S.AppendLine();
        S.AppendLine("| round | comparison | base | test | test / base | other CPU |");
        S.AppendLine("|---:|---|---:|---:|---:|---:|");
        foreach (var group in runs.GroupBy(r => (r.Comparison, r.Round)))
        {
            var b = group.FirstOrDefault(r => !r.Test);
            var t = group.FirstOrDefault(r => r.Test);
            if (b is null || t is null)
            {
                continue;
            }

            S.AppendLine(F($"| {group.Key.Round + 1} | {group.Key.Comparison} | {b.Window.CpuUs:0.0} | {t.Window.CpuUs:0.0} | {t.Window.CpuUs / b.Window.CpuUs:0.000}x | {t.Window.ForeignPercent:0}% |"));
        }

        S.AppendLine();
        foreach (var r in runs)
        {
            var comparison = PairedBench.Comparisons.First(c => c.Key == r.Comparison);
            var configuration = Configurations.Get(r.Test ? comparison.TestKey : comparison.BaseKey);
            string name = F($"paired {r.Comparison}, {configuration.Label}, round {r.Round + 1}");
            Check(r.Window.Errors == 0, F($"{name}: {r.Window.Errors} failed requests in the window"), hard: true);
            switch (configuration.Spans)
            {
                case SpansExpected.None:
                    Check(r.Window.Spans == 0, F($"{name}: {r.Window.Spans:0.000} spans per request exported (none expected)"), hard: true);
                    break;
                case SpansExpected.Few:
                    Check(r.Window.Spans < 0.5, F($"{name}: {r.Window.Spans:0.000} spans per request exported (a few sampled traces expected)"), hard: true);
                    break;
                default:
                    // At 100%: five spans a request (four in the api, one in the peer; four with
                    // the SDK). Exports are batched, so a window's count moves by a batch either
                    // way: a warning, as in the load part (a short window of the quick run can be a
                    // batch off).
                    Check(Math.Abs(r.Window.Spans - configuration.SpansPerRequest) <= 0.15, F($"{name}: {r.Window.Spans:0.000} spans per request exported ({configuration.SpansPerRequest} expected: spans dropped or extra, unequal work)"), hard: false);
                    break;
            }
        }
    }

    /// <summary>Per round, the test window's value combined with the base window's.</summary>
    private static Spread Between(IReadOnlyList<PairedRun> runs, Func<Window, double> metric, Func<double, double, double> combine) => Spread.Of(runs
        .GroupBy(r => r.Round)
        .Select(g => (Test: g.FirstOrDefault(r => r.Test), Base: g.FirstOrDefault(r => !r.Test)))
        .Where(p => p.Test is not null && p.Base is not null)
        .Select(p => combine(metric(p.Test!.Window), metric(p.Base!.Window))));
}
