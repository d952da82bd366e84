using System.Globalization;

namespace TraceAgent.Bench;

internal sealed partial class Report
{
    public void Stages(IReadOnlyList<StageResult> results)
    {
        S.AppendLine("## 4. Stages: BenchmarkDotNet");
        S.AppendLine();
        S.AppendLine(F($"One benchmark per stage of the agent's span path, project tests/Agent.Benchmarks ({(_options.Quick ? "quick job: 1 warm-up, 3 iterations" : "3 warm-ups, 10 iterations")}, in-process, `[MemoryDiagnoser]`), wall time per operation on one thread: the span pipeline (sampler, start and stop callbacks, the span's OTLP encoding as it ends and its enqueueing, as with OTLP alone; against a source nobody listens to; and a server span with its attributes set on its `Activity` or written as it is encoded), OTLP encoding of a full batch, the W3C propagator (against the runtime's own), a Kafka consumer's context from a traceparent header's bytes (against the way it was read before 2026-12-06) and a producer's header written from a span's ids, an Npgsql command span's stop (on spans tagged as Npgsql 10 and as Npgsql 8 tag them; against the same spans made and tagged without it; and an Npgsql 10 span through the pipeline, the attributes the agent adds set on its `Activity` or written as it is encoded), a dropped request's child span, and metrics (one measurement on the app's thread, one collection with its encoding)."));
        S.AppendLine();
        S.AppendLine("| benchmark | method | median | allocated (B/op) |");
        S.AppendLine("|---|---|---:|---:|");
        foreach (var r in results.OrderBy(r => r.Type, StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal))
        {
            S.AppendLine(F($"| {r.Type} | {r.Method} | {Time(r.MedianNs)} | {(r.AllocatedBytes is double a ? a.ToString("0", CultureInfo.InvariantCulture) : "-")} |"));
        }

        S.AppendLine();
    }

    public void Outage(OutageResult result)
    {
        S.AppendLine("## 5. Collector outage");
        S.AppendLine();
        S.AppendLine(F($"The api alone under the agent (100% sampling; its peer uninstrumented), under the same load while its OTLP receiver is up, then shut down (connections refused) for twice as long, then started again on the same port. VmRSS sampled every 250 ms. No agent, same load: {result.BaselineRps:0} req/s."));
        S.AppendLine();
        S.AppendLine("| phase | req/s | vs no agent | p99 (ms) | max VmRSS (MB) | VmRSS at end (MB) | errors |");
        S.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var p in result.Phases)
        {
            S.AppendLine(F($"| {p.Name} | {p.Rps:0} | {p.Rps / result.BaselineRps:0.00} | {p.P99Ms:0.00} | {p.MaxRssMb:0} | {p.EndRssMb:0} | {p.Errors} |"));
        }

        S.AppendLine();
        S.AppendLine(F($"Spans received after the collector came back: {result.SpansAfterRestore}. Agent's last loss report: `{result.LossLine ?? "none"}`"));
        S.AppendLine();
        var up = result.Phases[0];
        var down = result.Phases[1];
        double growth = down.MaxRssMb - up.MaxRssMb;
        _targets.Add(("memory bounded during a collector outage (at most +64 MB), export resumes", F($"max VmRSS {up.MaxRssMb:0} MB up, {down.MaxRssMb:0} MB down ({growth:+0;-0;0} MB); {result.SpansAfterRestore} spans after the restore"), growth <= 64 && result.SpansAfterRestore > 0 ? "met" : "**missed**"));
        Check(result.Phases.All(p => p.Errors == 0), F($"collector outage: {result.Phases.Sum(p => p.Errors)} failed requests"), hard: true);
    }
}
