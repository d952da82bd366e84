using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Benchmarks;

/// <summary>
/// One span through the agent's pipeline (sampler, start and stop callbacks, the span's OTLP
/// encoding as it ends and its enqueueing, as with the default OTLP exporter; the exporter here
/// discards), beside the same code on a source nobody listens to.
/// </summary>
[MemoryDiagnoser]
public class SpanPipelineBenchmarks
{
    private static readonly ActivitySource Traced = new("Bench.Traced");
    private static readonly ActivitySource Untraced = new("Bench.Untraced");
    private TracingPipeline? _pipeline;
    private EncodingSpanProcessor? _processor;

    [GlobalSetup]
    public void Setup()
    {
        // A queue large enough that the benchmark measures enqueueing, not dropping.
        var encoder = new OtlpTraceEncoder([new("service.name", "bench")], new SpanLimits(128, null, 128, 128, 128, 128));
        _processor = new EncodingSpanProcessor(encoder, [new DiscardingExporter()], new BatchSettings(5000, 30000, 1 << 20, 512), 30000);
        _pipeline = new TracingPipeline(Sampler.Create("parentbased_always_on", 1), _processor, new SourceMatcher(["Bench.Traced"]));
        _pipeline.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pipeline?.Dispose();
        _processor?.Shutdown(1000);
        _processor?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "span, no listener (uninstrumented)")]
    public void NoListener() => Run(Untraced);

    [Benchmark(Description = "span through the agent's pipeline")]
    public void ThroughPipeline() => Run(Traced);

    private static void Run(ActivitySource source)
    {
        using var activity = source.StartActivity("GET /items/{id}", ActivityKind.Server);
        if (activity is not null)
        {
            activity.SetTag("http.request.method", "GET");
            activity.SetTag("url.path", "/items/7");
            activity.SetTag("http.route", "/items/{id}");
            activity.SetTag("http.response.status_code", 200);
        }
    }

    private sealed class DiscardingExporter : IExporter<EncodedSpan>
    {
        public string Description => "discard";

        public ExportResult Export(IReadOnlyList<EncodedSpan> batch, DateTime deadlineUtc, CancellationToken cancellationToken) => ExportResult.Success;

        public void Dispose()
        {
        }
    }
}
