using TraceAgent.IntegrationTests.Infrastructure;

namespace TraceAgent.IntegrationTests.Benchmarks;

/// <summary>
/// The benchmark suite's quick mode runs end to end and writes every table. Nothing here checks a
/// number: timings on a shared CI machine mean nothing, the suite is run by hand for those.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BenchmarkCollection
{
    public const string Name = "Benchmarks";
}

[Collection(BenchmarkCollection.Name)]
public sealed class BenchQuickTests
{
    [Fact]
    public async Task QuickModeWritesEveryTable()
    {
        string output = Path.Combine(Path.GetTempPath(), "traceagent-bench-" + Guid.NewGuid().ToString("N") + ".md");
        try
        {
            // --no-agent-build: the other tests use dist/agent, which the test command built.
            await Command.RunAsync(
                "bash",
                [Path.Combine(RepoPaths.RepoRoot, "build", "bench.sh"), "--quick", "--no-agent-build", "--output", output],
                TimeSpan.FromMinutes(6));

            string report = await File.ReadAllTextAsync(output);
            string[] expected =
            [
                "## Machine", "| cores (nproc) |", "## Targets", "| start-up adds at most 50 ms of CPU |",
                "## 1. Start-up", "## 2. Throughput and latency", "## 3. Per-operation costs", "## 4. Collector outage",
                "| no agent |", "| agent, 100% sampling |", "| agent, 10% sampling |", "| in-code OpenTelemetry SDK |",
                "| agent, 100%, with metrics (default interval) |", "| metrics (default interval) add at most 1% CPU per request on top of tracing |",
                "| SpanPipelineBenchmarks |", "| MetricsBenchmarks |", "| OtlpEncodeBenchmarks |", "| PropagatorBenchmarks |", "| RedisBenchmarks |", "| KafkaBenchmarks |",
                "| collector down (connection refused) |",
            ];
            string[] missing = expected.Where(text => !report.Contains(text, StringComparison.Ordinal)).ToArray();
            Assert.True(missing.Length == 0, "the report lacks: " + string.Join(", ", missing) + "\n" + report);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
