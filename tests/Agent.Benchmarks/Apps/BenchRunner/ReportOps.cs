using System.Globalization;

namespace TraceAgent.Bench;

internal sealed partial class Report
{
    public void Ops(IReadOnlyList<OpsRun> runs)
    {
        var rounds = runs.Select(r => r.Round).Distinct().Order().ToList();
        OpsRun? Find(string key, bool test, int round) => runs.FirstOrDefault(r => r.Workload == key && r.Test == test && r.Round == round);
        Spread Added(string key) => Spread.Of(rounds
            .Select(n => (Test: Find(key, true, n), Base: Find(key, false, n)))
            .Where(p => p.Test is not null && p.Base is not null)
            .Select(p => p.Test!.CpuNsPerOp - p.Base!.CpuNsPerOp));

        var sample = runs.Count > 0 ? runs[0] : null;
        S.AppendLine("## 3. Per operation: CPU time");
        S.AppendLine();
        S.AppendLine(F($"tests/Agent.Benchmarks/Apps/BenchOps runs one kind of operation, paced at {OpsBench.Rate:N0} a second: a warm-up of {_options.OpsWarmup:N0}, then windows of {sample?.Ops ?? 0:N0}, and for each window reports the CPU time its whole process spent, from the first operation until a short settle after the last (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`: every thread, the agent's drain and export threads and the libraries' own included). For each operation a base process and a test process are started and warmed up one after the other, then measured in {rounds.Count} round(s): in a round both run one window at the same moment (which one is told first alternates), each paced on its own, and the difference per operation is the cost. Measured together, what else the machine does in those seconds weighs on both alike; measured one after the other (the method before 2026-12-05), the difference also carried how the machine changed between the two windows. The first row has no agent in either process: its spread is the method's own. The traced processes (the agent's, and the OpenTelemetry SDK's in the export-sdk row) export every 100 ms (`OTEL_BSP_SCHEDULE_DELAY=100`) so that a window's spans are exported inside it (the runner checks that the sink has them all when the window closes), from a queue that never overflows (`OTEL_BSP_MAX_QUEUE_SIZE=262144`: a dropped span would be work not done). Kafka runs against the librdkafka mock cluster in the runner, Redis against redis-server on 127.0.0.1."));
        S.AppendLine();
        S.AppendLine("| operation | base process | base CPU per op | test process | test CPU per op | added per op: median [min to max] | spans received per op (expected) |");
        S.AppendLine("|---|---|---:|---|---:|---:|---:|");
        var workloads = OpsBench.Selected(_options).ToList();
        foreach (var w in workloads)
        {
            var test = runs.Where(r => r.Workload == w.Key && r.Test).ToList();
            var baseRuns = runs.Where(r => r.Workload == w.Key && !r.Test).ToList();
            if (test.Count == 0)
            {
                continue;
            }

            var added = Added(w.Key);
            string spans = F($"{test.Sum(r => r.Spans) / (double)test.Sum(r => r.Ops):0.00} ({w.TestSpansPerOp:0})");
            S.AppendLine(F($"| {w.Label} | {w.BaseLabel} | {Time(Spread.Of(baseRuns.Select(r => r.CpuNsPerOp)).Median)} | {w.TestLabel} | {Time(Spread.Of(test.Select(r => r.CpuNsPerOp)).Median)} | {FormatTime(added)} | {spans} |"));
        }

        S.AppendLine();
        S.AppendLine("Each round, CPU added per operation:");
        S.AppendLine();
        var ran = workloads.Where(w => runs.Any(r => r.Workload == w.Key)).ToList();
        S.AppendLine("| round | " + string.Join(" | ", ran.Select(w => w.Key)) + " |");
        S.AppendLine("|---:|" + string.Concat(ran.Select(_ => "---:|")));
        foreach (var n in rounds)
        {
            S.AppendLine(F($"| {n + 1} | ") + string.Join(" | ", ran.Select(w => Find(w.Key, true, n) is { } t && Find(w.Key, false, n) is { } b ? Time(t.CpuNsPerOp - b.CpuNsPerOp) : "-")) + " |");
        }

        S.AppendLine();
        // Two builds side by side (--ops-base-agent) measure no target.
        foreach (var w in OpsBench.Workloads.Where(w => w.Target.Length > 0 && _options.OpsBaseAgent is null))
        {
            if (!ran.Contains(w))
            {
                NotMeasured(w.Target);
                continue;
            }

            var added = Added(w.Key);
            _targets.Add((w.Target, FormatTime(added), Verdicts.AtMost(added, w.LimitNs)));
        }

        foreach (var r in runs)
        {
            string name = F($"per operation, {r.Workload} ({(r.Test ? "test" : "base")}), round {r.Round + 1}");
            if (r.SpansExpected == 0)
            {
                Check(r.Spans == 0, F($"{name}: {r.Spans} spans received, none expected"), hard: true);
            }
            else
            {
                Check(r.Spans > 0, F($"{name}: no spans received"), hard: true);

                // A few more are fine (the connection's own commands); fewer means dropped work.
                Check(r.Spans >= r.SpansExpected && r.Spans <= (r.SpansExpected * 1.01) + 50, F($"{name}: {r.Spans} spans received, {r.SpansExpected} expected"), hard: false);
            }

            if (r.Warnings.Count > 0)
            {
                Check(false, F($"{name}: {r.Warnings.Count} warning line(s) from the agent, the last: `{r.Warnings[^1].Trim()}`"), hard: false);
            }
        }
    }

    private static string FormatTime(Spread spread) => spread.IsEmpty
        ? "-"
        : spread.Values.Count == 1 ? Time(spread.Median) : $"{Time(spread.Median)} [{Time(spread.Min)} to {Time(spread.Max)}]";
}
