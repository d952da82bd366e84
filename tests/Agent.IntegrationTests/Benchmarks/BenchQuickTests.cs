using TraceAgent.IntegrationTests.Infrastructure;

namespace TraceAgent.IntegrationTests.Benchmarks;

/// <summary>
/// The benchmark suite's quick mode runs end to end, writes every part, every configuration and
/// every target of the report, and passes the runner's own checks of its measurements (no failed
/// request, no span where none should be, spans from every tracer that should send them, the
/// agent's start-up line in every traced start): a configuration that silently did not trace, or a
/// part that broke, fails here. No timing is checked: numbers from a shared machine mean nothing.
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
    public async Task QuickModeWritesEveryPartAndPassesItsChecks()
    {
        string output = Path.Combine(Path.GetTempPath(), "traceagent-bench-" + Guid.NewGuid().ToString("N") + ".md");
        try
        {
            // --no-agent-build: the other tests use dist/agent, which the test command built. The
            // runner exits non-zero when one of its checks fails, and RunAsync throws then.
            await Command.RunAsync(
                "bash",
                [Path.Combine(RepoPaths.RepoRoot, "build", "bench.sh"), "--quick", "--no-agent-build", "--output", output],
                TimeSpan.FromMinutes(15));

            string report = await File.ReadAllTextAsync(output);
            string[] expected =
            [
                "## Machine and versions", "| cores (nproc) |", "## Targets", "## Checks", " 0 failed.",
                "## 1. Load: two services, both instrumented", "### First seconds", "### Steady state", "### Memory under load", "### Each round",
                "## 1b. Paired windows: the small differences", "| same | no agent | no agent |", "| tracing | no agent | agent, 100% sampling |", "| tracing-sdk | no agent | OpenTelemetry SDK 1.20 (startup hook) |", "| agent-sdk | OpenTelemetry SDK 1.20 (startup hook) | agent, 100%, the SDK's spans only (Redis off) |", "| redis | agent, 100%, the SDK's spans only (Redis off) | agent, 100% sampling |", "| first | no agent | agent, 100% sampling |", "| first-sdk | OpenTelemetry SDK 1.20 (startup hook) | agent, 100% sampling |", "| first-sdk-spans | OpenTelemetry SDK 1.20 (startup hook) | agent, 100%, the SDK's spans only (Redis off) |", "| first-floor | no agent | no tracer, a listener recording the frameworks' spans (the floor) |", "| first-agent-floor | no tracer, a listener recording the frameworks' spans (the floor) | agent, 100%, the SDK's spans only (Redis off) |", "| floor | no agent | no tracer, a listener recording the frameworks' spans (the floor) |", "| agent-floor | no tracer, a listener recording the frameworks' spans (the floor) | agent, 100%, the SDK's spans only (Redis off) |", "| keep-errors |", "| keep-floor | no tracer, a listener propagating the frameworks' context, recording nothing | no tracer, a listener recording the frameworks' spans (the floor) |", "| off |", "| off-sdk | OpenTelemetry SDK 1.20 (startup hook), sampler off (always_off) |", "| off-floor | no agent | no tracer, a listener propagating the frameworks' context, recording nothing |", "| metrics |", "| metrics-floor | no tracer, a listener recording the frameworks' spans (the floor) | no tracer, the floor's listener and a listener on the same meters, recording nothing |",
                "| metrics-sdk | OpenTelemetry SDK 1.20 (startup hook) | OpenTelemetry SDK 1.20 (startup hook), with metrics (the same meters, 60 s) |",
                "## 2. Start-up", "## 2b. A process that lives only as long as its work", "| exec to exit (ms) |", "A job that ends when its work is done (part 2b)",
                "## 3. Per operation: CPU time", "## 4. Stages: BenchmarkDotNet", "## 5. Collector outage",

                // Every target of the issue has a row with a verdict.
                "| steady state: CPU per request (both services) at most 1.05x |", "| steady state: throughput at least 0.95x |",
                "| steady state: p99 latency at most 1.1x |", "| first seconds: throughput at least 0.85x |",
                "| first seconds: throughput better than the OpenTelemetry SDK hook's at the same age |",
                "| memory under load: VmRSS at most +12 MB (each service) |",
                "| sampler off (always_off): CPU per request (both services) at most 1.01x |",
                "| metrics (default interval) add at most 1% CPU per request on top of tracing |",
                "| sampling policies: at 1%, TRACEAGENT_SAMPLER_KEEP_ERRORS=true adds at most 5% CPU per request |",
                "| start-up: at most +30 ms of CPU (app using all six libraries at start) |",
                "| Redis: at most 2 µs of CPU per command |", "| Kafka: at most 2 µs of CPU per message (produce) |",
                "| Kafka: at most 2 µs of CPU per message (consume) |", "| export: at most 0.5 µs of CPU per span |",

                // Every configuration of the load and start-up parts, .NET 8 beside .NET 10.
                "| no agent |", "| agent, 100% sampling |", "| agent, 100%, with metrics (default interval) |",
                "| OpenTelemetry SDK 1.20 (startup hook) |", "| agent, sampler off (always_off) |",
                "| agent, 1% (parentbased_traceidratio 0.01) |", "| agent, 1%, TRACEAGENT_SAMPLER_KEEP_ERRORS=true |",
                "| agent, every instrumentation off |", "| no agent, a second start (the method's own spread) |", "| .NET 8: no agent |", "| .NET 8: agent, 100% sampling |",
                "| .NET 8: agent, 100%, DOTNET_GCDynamicAdaptationMode=1 |", "The agent with .NET 8's opt-in adaptation of the GC's generation-0 budget",

                // Every per-operation workload and every stage benchmark.
                "| Redis GET in a request", "| Redis GET in a request, no agent in either process (the method's own spread) |", "| Redis GET with no current span", "| Kafka produce, one message", "| Kafka consume, one message",
                "| Kafka produce, one message, with a 55-byte traceparent header the app sets itself", "| no agent, with the header |",
                "| OTLP export of one span", "| OpenTelemetry SDK 1.20, no exporter |", "| OpenTelemetry SDK 1.20, OTLP |", "| SpanPipelineBenchmarks |", "| MetricsBenchmarks |", "| OtlpEncodeBenchmarks |", "| PropagatorBenchmarks |", "| UnsampledSpanBenchmarks |",
                "| collector down (connection refused) |",
            ];
            string[] missing = expected.Where(text => !report.Contains(text, StringComparison.Ordinal)).ToArray();
            Assert.True(missing.Length == 0, "the report lacks: " + string.Join(", ", missing) + "\n" + report);
            Assert.DoesNotContain("not measured in this run", report, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
