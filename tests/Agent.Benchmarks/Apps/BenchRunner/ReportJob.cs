namespace TraceAgent.Bench;

internal sealed partial class Report
{
    private string? _jobLine;

    public void Job(IReadOnlyList<Configuration> configurations, IReadOnlyList<JobRun> runs)
    {
        var paired = new PairedRuns<JobRun>(runs);

        S.AppendLine("## 2b. A process that lives only as long as its work");
        S.AppendLine();
        S.AppendLine(F($"The start-up app as a job (a command-line tool, a scheduled task): the same work before it would serve (one HttpClient call, a query through Npgsql and one through EF Core, a Redis command, a Kafka message produced and consumed), with no web host; then it closes its clients and ends. CPU is the process's own (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`), read by the app's own exit handler, which runs after the tracer's (registered before `Main` by its startup hook): it includes sending the spans at exit. Paired as in the start-up part: {paired.RunNumbers.Count} runs, each configuration started at the same moment as a job without a tracer, the order rotated. No target of its own: the issue asks for the agent to be the cheapest way to trace at every age of a process, and this is the youngest."));
        S.AppendLine();
        S.AppendLine("| configuration | exec to exit (ms) | CPU at exit (ms) | CPU added (ms, paired) | time added (ms, paired) | spans sent per job |");
        S.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var c in configurations)
        {
            string cpuAdded = c.IsBaseline ? "-" : paired.Delta(c.Key, r => r.CpuMs).Format("+0;-0;0");
            string wallAdded = c.IsBaseline ? "-" : paired.Delta(c.Key, r => r.WallMs).Format("+0;-0;0");
            var spans = runs.Where(r => r.Key == c.Key).Select(r => r.Spans).Distinct().Order().ToList();
            S.AppendLine(F($"| {c.Label} | {paired.Values(c.Key, r => r.WallMs).Median:0} | {paired.Values(c.Key, r => r.CpuMs).Median:0} | {cpuAdded} | {wallAdded} | {string.Join(" or ", spans)} |"));
        }

        S.AppendLine();
        AppendRunTable(
            "Each run, CPU at exit in ms: each configuration's job, then the job without a tracer made with it:",
            configurations,
            paired,
            r => r.CpuMs);
        if (configurations.Any(c => c.Key == "agent-metrics") && configurations.Any(c => c.Key == "sdk"))
        {
            // Agent against SDK within a run: each against its own paired baseline, the two pairs
            // started one after the other.
            var against = paired.DeltaLess("agent-metrics", "sdk", r => r.CpuMs);
            _jobLine = F($"A job that ends when its work is done (part 2b): the agent as configured by default adds {paired.Delta("agent-metrics", r => r.CpuMs).Format("+0;-0;0", " ms")} of CPU, tracing alone {paired.Delta("agent", r => r.CpuMs).Format("+0;-0;0", " ms")}, the OpenTelemetry SDK set-up {paired.Delta("sdk", r => r.CpuMs).Format("+0;-0;0", " ms")}; the agent's added CPU less the SDK's in the same run {against.Format("+0;-0;0", " ms")}.");
        }

        foreach (var c in configurations)
        {
            var sent = runs.Where(r => r.Key == c.Key).Select(r => r.Spans).ToList();
            bool traces = c.Spans != SpansExpected.None;
            Check(traces ? sent.All(s => s > 0) && sent.Distinct().Count() == 1 : sent.All(s => s == 0),
                F($"{c.Label}: every job sent the same spans ({string.Join(", ", sent.Distinct())}; {(traces ? "some" : "none")} expected)"), hard: true);
        }
    }
}
