using System.Globalization;

namespace TraceAgent.Bench;

internal sealed partial class Report
{
    public void Load(IReadOnlyList<Configuration> configurations, IReadOnlyList<LoadRun> runs)
    {
        var rounds = runs.Select(r => r.Round).Distinct().Order().ToList();
        LoadRun? Find(string key, int round) => runs.FirstOrDefault(r => r.Key == key && r.Round == round);
        Spread Values(string key, Func<LoadRun, double> metric) => Spread.Of(runs.Where(r => r.Key == key).Select(metric));
        Spread Ratio(Configuration c, Func<LoadRun, double> metric) => Paired(c.Key, c.BaselineKey, metric, (a, b) => a / b);
        Spread Delta(Configuration c, Func<LoadRun, double> metric) => Paired(c.Key, c.BaselineKey, metric, (a, b) => a - b);
        Spread Paired(string key, string baseline, Func<LoadRun, double> metric, Func<double, double, double> combine) => Spread.Of(rounds
            .Select(r => (Run: Find(key, r), Base: Find(baseline, r)))
            .Where(p => p.Run is not null && p.Base is not null)
            .Select(p => combine(metric(p.Run!), metric(p.Base!))));

        S.AppendLine("## 1. Load: two services, both instrumented");
        S.AppendLine();
        S.AppendLine(F($"Two ASP.NET Core services (tests/Agent.Benchmarks/Apps/BenchApi), both started fresh for every run and both under the configuration measured: `GET /work` on the api makes one HttpClient call to the peer's `/hello`, one Redis GET and one PostgreSQL query. `wrk -t2 -c16 --latency` on 127.0.0.1: {_options.Warmup.TotalSeconds:0} s of load unmeasured, the **first seconds** window ({_options.Window.TotalSeconds:0} s), load on until {(_options.Warmup + _options.Window + _options.Between).TotalSeconds:0} s of load, then the **steady state** window ({_options.Window.TotalSeconds:0} s); each phase is its own wrk run, back to back. {rounds.Count} round(s) ({_options.Net8Rounds} for the .NET 8 configurations); in each, every configuration once, in an order rotated from round to round. OTLP goes to a sink in the runner that counts and discards. CPU per request is the process's utime+stime over the window (`/proc/<pid>/stat`) divided by the requests wrk completed in it; OTLP bytes and spans per request are what the sink received from both processes during the window (exports are batched, so these move by a batch either way; the whole run's spans per request are in the round table)."));
        S.AppendLine();
        foreach (var (phase, title, pick) in new (string, string, Func<LoadRun, Window>)[]
        {
            ("first", F($"First seconds ({_options.Warmup.TotalSeconds:0} to {(_options.Warmup + _options.Window).TotalSeconds:0} s of load)"), r => r.First),
            ("steady", F($"Steady state ({(_options.Warmup + _options.Window + _options.Between).TotalSeconds:0} to {(_options.Warmup + _options.Window + _options.Between + _options.Window).TotalSeconds:0} s of load)"), r => r.Steady),
        })
        {
            S.AppendLine("### " + title);
            S.AppendLine();
            S.AppendLine("| configuration | req/s | vs no agent | p50 (ms) | vs | p99 (ms) | vs | CPU/req api (µs) | CPU/req peer (µs) | CPU/req both (µs) | vs no agent | OTLP bytes/req | spans/req | errors |");
            S.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var c in configurations)
            {
                string Vs(Func<Window, double> metric) => c.IsBaseline ? "-" : Ratio(c, r => metric(pick(r))).Format("0.00", "x");
                S.AppendLine(F($"| {c.Label} | {Values(c.Key, r => pick(r).Rps).Median:0} | {Vs(w => w.Rps)} | {Values(c.Key, r => pick(r).P50Ms).Median:0.00} | {Vs(w => w.P50Ms)} | {Values(c.Key, r => pick(r).P99Ms).Median:0.00} | {Vs(w => w.P99Ms)} | {Values(c.Key, r => pick(r).ApiCpuUs).Median:0} | {Values(c.Key, r => pick(r).PeerCpuUs).Median:0} | {Values(c.Key, r => pick(r).CpuUs).Median:0} | {Vs(w => w.CpuUs)} | {Values(c.Key, r => pick(r).OtlpBytes).Median:0} | {Values(c.Key, r => pick(r).Spans).Median:0.00} | {runs.Where(r => r.Key == c.Key).Sum(r => pick(r).Errors)} |"));
            }

            S.AppendLine();
        }

        S.AppendLine("### Memory under load");
        S.AppendLine();
        S.AppendLine("VmRSS of each process at the end of the steady window, and its peak (VmHWM) over the run; differences paired per round.");
        S.AppendLine();
        S.AppendLine("| configuration | api VmRSS (MB) | vs no agent (MB) | peer VmRSS (MB) | vs no agent (MB) | api VmHWM (MB) | peer VmHWM (MB) |");
        S.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var c in configurations)
        {
            string Added(Func<LoadRun, double> metric) => c.IsBaseline ? "-" : Delta(c, metric).Format("+0;-0;0");
            S.AppendLine(F($"| {c.Label} | {Values(c.Key, r => r.ApiRssMb).Median:0} | {Added(r => r.ApiRssMb)} | {Values(c.Key, r => r.PeerRssMb).Median:0} | {Added(r => r.PeerRssMb)} | {Values(c.Key, r => r.ApiHwmMb).Median:0} | {Values(c.Key, r => r.PeerHwmMb).Median:0} |"));
        }

        S.AppendLine();
        S.AppendLine("### Each round");
        S.AppendLine();
        S.AppendLine("Spans per request are counted over the whole run, after a graceful stop let the tracers send what they held (api + peer). \"Machine busy\" and \"other CPU\" are for the steady window, in % of both cores; wrk, sink and backend (Redis + PostgreSQL) CPU are per request of that window.");
        S.AppendLine();
        S.AppendLine("| round | # | configuration | first: req/s | CPU/req (µs) | steady: req/s | CPU/req (µs) | p99 (ms) | VmRSS api+peer (MB) | spans/req api+peer | machine busy | other CPU | wrk, sink, backend (µs/req) | tracer warnings |");
        S.AppendLine("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in runs.OrderBy(r => r.Round).ThenBy(r => r.Position))
        {
            var c = Configurations.Get(r.Key);
            S.AppendLine(F($"| {r.Round + 1} | {r.Position + 1} | {c.Label} | {r.First.Rps:0} | {r.First.CpuUs:0} | {r.Steady.Rps:0} | {r.Steady.CpuUs:0} | {r.Steady.P99Ms:0.0} | {r.ApiRssMb:0}+{r.PeerRssMb:0} | {r.ApiSpansPerRequest:0.00}+{r.PeerSpansPerRequest:0.00} | {r.Steady.MachineBusyPercent:0}% | {r.Steady.ForeignPercent:0}% | {r.Steady.WrkCpuUs:0}, {r.Steady.SinkCpuUs:0}, {r.Steady.BackendCpuUs:0} | {r.Warnings.Count} |"));
        }

        S.AppendLine();

        // Targets (the issue's, for the agent at 100% on .NET 10), then the checks of equal work.
        var agent = configurations.FirstOrDefault(c => c.Key == "agent");
        if (agent is null)
        {
            foreach (var target in LoadTargets)
            {
                NotMeasured(target);
            }
        }
        else
        {
            var rps = Ratio(agent, r => r.Steady.Rps);
            _targets.Add((LoadTargets[0], rps.Format("0.00", "x"), Verdicts.AtLeast(rps, 0.95)));
            var p99 = Ratio(agent, r => r.Steady.P99Ms);
            _targets.Add((LoadTargets[1], p99.Format("0.00", "x"), Verdicts.AtMost(p99, 1.10)));
            var first = Ratio(agent, r => r.First.Rps);
            _targets.Add((LoadTargets[2], first.Format("0.00", "x"), Verdicts.AtLeast(first, 0.85)));
            if (configurations.Any(c => c.Key == "sdk"))
            {
                var sdk = Ratio(Configurations.Get("sdk"), r => r.First.Rps);
                var versus = Paired("agent", "sdk", r => r.First.Rps, (a, b) => a / b);
                _targets.Add((LoadTargets[3], F($"agent {first.Format("0.00", "x")}, SDK {sdk.Format("0.00", "x")}; agent / SDK in the same round {versus.Format("0.00", "x")}"), Verdicts.Above(versus, 1.0)));
            }
            else
            {
                NotMeasured(LoadTargets[3]);
            }

            var api = Delta(agent, r => r.ApiRssMb);
            var peer = Delta(agent, r => r.PeerRssMb);
            var worst = Paired("agent", "none", r => Math.Max(r.ApiRssMb - Find("none", r.Round)!.ApiRssMb, r.PeerRssMb - Find("none", r.Round)!.PeerRssMb), (a, _) => a);
            _targets.Add((LoadTargets[4], F($"api {api.Format("+0;-0;0", " MB")}, peer {peer.Format("+0;-0;0", " MB")}"), Verdicts.AtMost(worst, 12)));
        }

        // What metrics, keep-errors and the sampler off add is smaller than this part's
        // round-to-round spread: the paired part judges them (their rows above are for comparison).
        if (configurations.FirstOrDefault(c => c.Key == "net8-agent") is { } net8)
        {
            _net8Load = F($".NET 8, the agent against .NET 8 without it: steady CPU per request {Ratio(net8, r => r.Steady.CpuUs).Format("0.00", "x")}, steady throughput {Ratio(net8, r => r.Steady.Rps).Format("0.00", "x")}, first-seconds throughput {Ratio(net8, r => r.First.Rps).Format("0.00", "x")}, VmRSS api {Delta(net8, r => r.ApiRssMb).Format("+0;-0;0", " MB")}, peer {Delta(net8, r => r.PeerRssMb).Format("+0;-0;0", " MB")}.");
            if (configurations.FirstOrDefault(c => c.Key == "net8-agent-datas") is { } datas)
            {
                // The peer answers /hello without allocating: with no agent its generation 0 never
                // fills, so the agent's allocations show the server GC's whole budget (notes.md).
                _net8Load += F($" The agent with .NET 8's opt-in adaptation of the GC's generation-0 budget (DOTNET_GCDynamicAdaptationMode=1, the default from .NET 9 on), against .NET 8 without the agent and with its default GC (whose api, allocating per request without the agent too, holds the fixed budget: the api's difference is mostly the GC's, the peer's the agent's): VmRSS api {Delta(datas, r => r.ApiRssMb).Format("+0;-0;0", " MB")}, peer {Delta(datas, r => r.PeerRssMb).Format("+0;-0;0", " MB")}, steady CPU per request {Ratio(datas, r => r.Steady.CpuUs).Format("0.00", "x")}.");
            }
            S.AppendLine(_net8Load);
            S.AppendLine();
        }

        CheckLoad(runs);
    }

    private string? _net8Load;

    // Steady CPU per request is judged by the paired part (PairedBench.SteadyCpuTarget): this part's
    // rounds, fresh processes minutes apart, spread by more than the 5% it allows.
    private static readonly string[] LoadTargets =
    [
        "steady state: throughput at least 0.95x",
        "steady state: p99 latency at most 1.1x",
        "first seconds: throughput at least 0.85x",
        "first seconds: throughput better than the OpenTelemetry SDK hook's at the same age",
        "memory under load: VmRSS at most +12 MB (each service)",
    ];

    /// <summary>What each configuration must have sent for its cost to count: equal work, no errors.</summary>
    private void CheckLoad(IReadOnlyList<LoadRun> runs)
    {
        foreach (var r in runs)
        {
            var c = Configurations.Get(r.Key);
            string name = F($"{c.Label}, round {r.Round + 1}");
            long errors = r.First.Errors + r.Steady.Errors;
            Check(errors == 0, F($"{name}: {errors} failed requests (non-2xx or socket errors) in the windows"), hard: true);
            double api = r.ApiSpansPerRequest;
            double peer = r.PeerSpansPerRequest;
            if (c.Spans == SpansExpected.None)
            {
                Check(api == 0 && peer == 0, F($"{name}: no spans expected, {api:0.000}+{peer:0.000} per request received"), hard: true);
            }
            else if (c.Spans == SpansExpected.Few)
            {
                Check(api > 0 && api < 0.5, F($"{name}: a few sampled traces expected, {api:0.000} api spans per request received"), hard: true);
            }
            else
            {
                // At 100%: the api's server, HttpClient, Redis and PostgreSQL spans (the SDK set-up
                // and the agent with Redis off make no Redis span), the peer's server span.
                double expectedApi = c.SpansPerRequest - 1;
                Check(api > 0 && peer > 0, F($"{name}: the tracer exported nothing ({api:0.00}+{peer:0.00} spans per request)"), hard: true);
                Check(Math.Abs(api - expectedApi) <= 0.03 * expectedApi && Math.Abs(peer - 1) <= 0.03,
                    F($"{name}: {api:0.000} api and {peer:0.000} peer spans per request, {expectedApi} and 1 expected (spans dropped or extra: unequal work)"), hard: false);
            }

            // Metrics leave with the graceful stop at the latest (the default interval is 60 s).
            bool metrics = c.Tracer == Tracer.Agent && c.Settings.TryGetValue("OTEL_METRICS_EXPORTER", out var exporter) && exporter == "otlp";
            Check(metrics ? r.Metrics > 0 : r.Metrics == 0, F($"{name}: {r.Metrics} metrics received ({(metrics ? "some" : "none")} expected)"), hard: true);

            if (r.Warnings.Count > 0)
            {
                Check(false, F($"{name}: {r.Warnings.Count} warning line(s) from the tracer, the first: `{r.Warnings[0].Trim()}`"), hard: false);
            }
        }
    }
}
