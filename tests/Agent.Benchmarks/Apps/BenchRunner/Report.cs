using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace TraceAgent.Bench;

/// <summary>Builds docs/performance.md from what the parts measured.</summary>
internal sealed class Report
{
    private readonly BenchOptions _options;
    private readonly StringBuilder _sections = new();
    private readonly List<(string Target, string Measured, string Verdict)> _targets = [];
    private readonly DateTime _started = DateTime.UtcNow;

    public Report(BenchOptions options) => _options = options;

    public void Startup(IReadOnlyList<Configuration> configurations, Dictionary<string, List<StartupSample>> samples)
    {
        var s = _sections;
        s.AppendLine("## 1. Start-up");
        s.AppendLine();
        s.AppendLine(F($"Process start (`dotnet BenchApi.dll`) to the first `200` from `GET /hello`, polled every millisecond; CPU time of the app's process at that moment. Medians of {_options.StartupRuns} runs, interleaved (A B C A B C ...). \"CPU (stat)\" is utime+stime from `/proc/<pid>/stat` (10 ms ticks); \"CPU (threads)\" sums the live threads' `schedstat` run time (ns resolution; misses threads that already ended). \"Hook\" is what the agent's start-up summary line reports (`started in N ms`)."));
        s.AppendLine();
        s.AppendLine("| configuration | time to first response (ms) | CPU (stat, ms) | CPU (threads, ms) | CPU added vs no agent (ms) | hook initialisation (ms) |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|");
        double baseCpu = Stats.Median(samples["none"].Select(x => x.CpuMs));
        double baseThreads = Stats.Median(samples["none"].Select(x => x.ThreadsMs));
        foreach (var c in configurations)
        {
            var list = samples[c.Key];
            double cpu = Stats.Median(list.Select(x => x.CpuMs));
            double threads = Stats.Median(list.Select(x => x.ThreadsMs));
            var hooks = list.Where(x => x.HookMs is not null).Select(x => x.HookMs!.Value).ToList();
            string added = c.Key == "none" ? "-" : F($"{cpu - baseCpu:+0;-0;0} (threads: {threads - baseThreads:+0;-0;0})");
            s.AppendLine(F($"| {c.Label} | {Stats.Median(list.Select(x => x.WallMs)):0} | {cpu:0} | {threads:0} | {added} | {(hooks.Count == 0 ? "-" : Stats.Median(hooks).ToString("0", CultureInfo.InvariantCulture))} |"));
        }

        s.AppendLine();
        // The default configuration exports metrics too: the target is judged on it when measured.
        var defaults = samples.ContainsKey("agentmetrics") ? "agentmetrics" : "agent";
        if (samples.TryGetValue(defaults, out var agent))
        {
            double delta = Stats.Median(agent.Select(x => x.CpuMs)) - baseCpu;
            double deltaThreads = Stats.Median(agent.Select(x => x.ThreadsMs)) - baseThreads;
            var which = defaults == "agentmetrics" ? " (agent with metrics, the default)" : string.Empty;
            _targets.Add(("start-up adds at most 50 ms of CPU", F($"{delta:+0;-0;0} ms (stat), {deltaThreads:+0;-0;0} ms (threads){which}"), Verdict(delta <= 50, F($"over by {delta - 50:0} ms"))));
        }
    }

    public void Load(IReadOnlyList<Configuration> configurations, Dictionary<string, List<LoadSample>> samples)
    {
        var s = _sections;
        s.AppendLine("## 2. Throughput and latency");
        s.AppendLine();
        s.AppendLine(F($"`wrk -t2 -c16 -d{_options.LoadDuration.TotalSeconds:0}s --latency` on `GET /work` (one HttpClient call to a second, uninstrumented instance of the app, one Redis GET, one PostgreSQL query), after a {_options.WarmupDuration.TotalSeconds:0} s warm-up, on 127.0.0.1. {_options.LoadRounds} round(s), configurations interleaved in each round; medians. Ratios are to no agent. Everything (wrk, the app, its peer, Redis, PostgreSQL and the OTLP receiver) shares the machine's cores: the receiver's own CPU per request is shown, since it competes with the app."));
        s.AppendLine();
        s.AppendLine("| configuration | req/s | ratio | p50 (ms) | ratio | p99 (ms) | ratio | app CPU per request (µs) | ratio | peak memory VmHWM (MB) | ratio | receiver CPU per request (µs) | errors |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var medians = new Dictionary<string, LoadSample>();
        foreach (var c in configurations)
        {
            var list = samples[c.Key];
            medians[c.Key] = new LoadSample(
                Stats.Median(list.Select(x => x.Rps)),
                Stats.Median(list.Select(x => x.P50Ms)),
                Stats.Median(list.Select(x => x.P99Ms)),
                Stats.Median(list.Select(x => x.CpuUsPerRequest)),
                Stats.Median(list.Select(x => x.PeakMb)),
                Stats.Median(list.Select(x => x.ReceiverCpuUsPerRequest)),
                list.Sum(x => x.Errors));
        }

        var b = medians["none"];
        foreach (var c in configurations)
        {
            var m = medians[c.Key];
            s.AppendLine(F($"| {c.Label} | {m.Rps:0} | {m.Rps / b.Rps:0.00} | {m.P50Ms:0.00} | {m.P50Ms / b.P50Ms:0.00} | {m.P99Ms:0.00} | {m.P99Ms / b.P99Ms:0.00} | {m.CpuUsPerRequest:0} | {m.CpuUsPerRequest / b.CpuUsPerRequest:0.00} | {m.PeakMb:0} | {m.PeakMb / b.PeakMb:0.00} | {m.ReceiverCpuUsPerRequest:0} | {m.Errors} |"));
        }

        s.AppendLine();
        s.AppendLine("Each round, req/s per configuration:");
        s.AppendLine();
        foreach (var c in configurations)
        {
            s.AppendLine(F($"- {c.Label}: {string.Join(", ", samples[c.Key].Select(x => x.Rps.ToString("0", CultureInfo.InvariantCulture)))}"));
        }

        s.AppendLine();
        if (medians.TryGetValue("agent", out var agent))
        {
            double ratio = agent.Rps / b.Rps;
            _targets.Add(("throughput at 100% sampling at least 0.95x no agent", F($"{ratio:0.00}x"), Verdict(ratio >= 0.95, F($"short by {(0.95 - ratio) * 100:0.0} points"))));
            if (medians.TryGetValue("agentmetrics", out var metrics))
            {
                double added = (metrics.CpuUsPerRequest / agent.CpuUsPerRequest) - 1;
                _targets.Add(("metrics (default interval) add at most 1% CPU per request on top of tracing", F($"{metrics.CpuUsPerRequest:0} vs {agent.CpuUsPerRequest:0} µs per request ({added * 100:+0.0;-0.0;0.0}%)"), Verdict(added <= 0.01, F($"over by {(added - 0.01) * 100:0.0} points"))));
            }

            if (medians.TryGetValue("sdk", out var sdk))
            {
                // Like for like: the SDK set-up makes no Redis spans.
                var same = medians.TryGetValue("agenthttp", out var httpOnly) ? httpOnly : agent;
                var label = ReferenceEquals(same, agent) ? "agent" : "agent with the same spans";
                _targets.Add(("throughput at 100% sampling never below the in-code SDK", F($"{label}: {same.Rps:0} vs {sdk.Rps:0} req/s ({same.Rps / sdk.Rps:0.00}x); the agent with all its spans (also Redis and PostgreSQL): {agent.Rps / sdk.Rps:0.00}x"), Verdict(same.Rps >= sdk.Rps, F($"{(1 - (same.Rps / sdk.Rps)) * 100:0.0}% below"))));
            }
        }
    }

    public void Micro(IReadOnlyList<MicroResult> results)
    {
        var s = _sections;
        s.AppendLine("## 3. Per-operation costs");
        s.AppendLine();
        s.AppendLine(F($"BenchmarkDotNet 0.15.8 ({(_options.Quick ? "quick job: 1 warm-up, 3 iterations" : "3 warm-ups, 10 iterations")}, in-process, `[MemoryDiagnoser]`), project tests/Agent.Benchmarks. The library rows run twice: in a process without the agent and in one started with the agent's startup hook (100% sampling, OTLP to the receiver), so the difference is what the agent adds per call, its spans and export included. Allocations are per operation as the runtime counts them for the whole process (the agent's export thread included)."));
        s.AppendLine();
        s.AppendLine("| benchmark | method | process | median | allocated (B/op) |");
        s.AppendLine("|---|---|---|---:|---:|");
        foreach (var r in results.OrderBy(r => r.Type, StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal).ThenBy(r => r.Run, StringComparer.Ordinal))
        {
            s.AppendLine(F($"| {r.Type} | {r.Method} | {r.Run} | {Time(r.MedianNs)} | {(r.AllocatedBytes is double a ? a.ToString("0", CultureInfo.InvariantCulture) : "-")} |"));
        }

        s.AppendLine();
        AddDelta(results, "RedisBenchmarks", "StringGet", 1000, "Redis adds at most 1 µs per command", "GET");
        AddDelta(results, "KafkaBenchmarks", "Produce", 2000, "Kafka adds at most 2 µs per message (produce)", "produce");
        AddDelta(results, "KafkaBenchmarks", "Consume", 2000, "Kafka adds at most 2 µs per message (consume)", "consume");
    }

    private void AddDelta(IReadOnlyList<MicroResult> results, string type, string method, double limitNs, string target, string what)
    {
        var plain = results.FirstOrDefault(r => r.Type == type && r.Method == method && r.Run == "no agent");
        var agent = results.FirstOrDefault(r => r.Type == type && r.Method == method && r.Run == "agent");
        if (plain is null || agent is null)
        {
            _targets.Add((target, "not measured", "-"));
            return;
        }

        double delta = agent.MedianNs - plain.MedianNs;
        _sections.AppendLine(F($"- {what}: {Time(plain.MedianNs)} without the agent, {Time(agent.MedianNs)} with it: {Time(delta)} added per operation."));
        _targets.Add((target, Time(delta), Verdict(delta <= limitNs, F($"over by {Time(delta - limitNs)}"))));
    }

    public void Outage(OutageResult result)
    {
        var s = _sections;
        s.AppendLine("## 4. Collector outage");
        s.AppendLine();
        s.AppendLine(F($"The agent (100% sampling) under the same load while its OTLP receiver is up, then shut down (connections refused) for twice as long, then started again on the same port. VmRSS sampled every 250 ms. No agent, same load: {result.BaselineRps:0} req/s."));
        s.AppendLine();
        s.AppendLine("| phase | req/s | vs no agent | p99 (ms) | max VmRSS (MB) | VmRSS at end (MB) | errors |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var p in result.Phases)
        {
            s.AppendLine(F($"| {p.Name} | {p.Rps:0} | {p.Rps / result.BaselineRps:0.00} | {p.P99Ms:0.00} | {p.MaxRssMb:0} | {p.EndRssMb:0} | {p.Errors} |"));
        }

        s.AppendLine();
        s.AppendLine(F($"Spans received after the collector came back: {result.SpansAfterRestore}. Agent's last loss report: `{result.LossLine ?? "none"}`"));
        s.AppendLine();
        var up = result.Phases[0];
        var down = result.Phases[1];
        double growth = down.MaxRssMb - up.MaxRssMb;
        _targets.Add(("memory bounded during a collector outage", F($"max VmRSS {up.MaxRssMb:0} MB up, {down.MaxRssMb:0} MB down ({growth:+0;-0;0} MB); {down.Rps / result.BaselineRps:0.00}x no-agent throughput while down"), Verdict(growth <= 64 && result.SpansAfterRestore > 0, "memory grew or export did not resume")));
    }

    public string Render()
    {
        var text = new StringBuilder();
        text.AppendLine("# Performance");
        text.AppendLine();
        text.AppendLine("Generated by `bash build/bench.sh` (see the end of this page for what it does); do not edit by hand. Numbers are from a small shared machine: compare rows of one run, not runs.");
        if (_options.Quick)
        {
            text.AppendLine();
            text.AppendLine("**Quick mode (`--quick`)**: a few seconds per part, to prove the suite runs. These numbers are not measurements.");
        }

        text.AppendLine();
        text.AppendLine("## Machine");
        text.AppendLine();
        text.AppendLine("| | |");
        text.AppendLine("|---|---|");
        text.AppendLine(F($"| date (UTC) | {_started:yyyy-MM-dd HH:mm} |"));
        text.AppendLine(F($"| cores (nproc) | {Environment.ProcessorCount} |"));
        text.AppendLine(F($"| CPU | {CpuModel()} |"));
        text.AppendLine(F($"| memory | {MemoryTotal()} |"));
        text.AppendLine(F($"| OS | {OsName()} (kernel {Environment.OSVersion.Version}) |"));
        text.AppendLine(F($"| .NET | {RuntimeInformation.FrameworkDescription}, SDK {_options.SdkVersion} |"));
        text.AppendLine(F($"| agent | TraceAgent {typeof(Report).Assembly.GetName().Version?.ToString(3)} (dist/agent, copied to artifacts/bench/agent for the run) |"));
        text.AppendLine("| libraries | StackExchange.Redis 3.4.35, Npgsql 10.0.3, Confluent.Kafka 2.16.0 (librdkafka mock cluster in the benchmark process); in-code SDK variant: OpenTelemetry 1.20.1, OpenTelemetry.Extensions.Hosting 1.20.1, OpenTelemetry.Exporter.OpenTelemetryProtocol 1.20.1, OpenTelemetry.Instrumentation.AspNetCore 1.20.2, OpenTelemetry.Instrumentation.Http 1.20.2; BenchmarkDotNet 0.15.8 |");
        text.AppendLine(F($"| tools | {_options.ToolVersions} |"));
        text.AppendLine();
        text.AppendLine("## Targets");
        text.AppendLine();
        text.AppendLine("| target | measured | verdict |");
        text.AppendLine("|---|---|---|");
        foreach (var (target, measured, verdict) in _targets)
        {
            text.AppendLine($"| {target} | {measured} | {verdict} |");
        }

        text.AppendLine();
        text.Append(_sections);
        var notes = Path.Combine(_options.Repo, "tests", "Agent.Benchmarks", "notes.md");
        if (File.Exists(notes))
        {
            text.AppendLine(File.ReadAllText(notes).TrimEnd());
        }

        return text.ToString();
    }

    private static string Verdict(bool met, string missed) => met ? "met" : "**missed**: " + missed;

    private static string Time(double ns) => Math.Abs(ns) >= 1_000_000
        ? F($"{ns / 1_000_000:0.00} ms")
        : Math.Abs(ns) >= 1000 ? F($"{ns / 1000:0.00} µs") : F($"{ns:0} ns");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string CpuModel()
    {
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
    }

    private static string MemoryTotal()
    {
        var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        if (line is null)
        {
            return "unknown";
        }

        var kb = long.Parse(line["MemTotal:".Length..].Trim().Split(' ')[0], NumberStyles.Integer, CultureInfo.InvariantCulture);
        return F($"{kb / 1024.0 / 1024.0:0.0} GiB");
    }

    private static string OsName()
    {
        if (!File.Exists("/etc/os-release"))
        {
            return RuntimeInformation.OSDescription;
        }

        var line = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal));
        return line is null ? RuntimeInformation.OSDescription : line["PRETTY_NAME=".Length..].Trim('"');
    }
}
