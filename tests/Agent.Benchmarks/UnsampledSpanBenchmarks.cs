using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Benchmarks;

/// <summary>
/// A request the head sampler dropped (ratio 0): its root and one database child. The child is
/// made unrecorded, as for a source made unsampled (TracingPipeline.MakeUnsampled, HttpClient),
/// or not made at all, as for every other source; beside the same code with no listener.
/// </summary>
[MemoryDiagnoser]
public class UnsampledSpanBenchmarks
{
    private static readonly ActivitySource Root = new("Bench.Unsampled.Root");
    private static readonly ActivitySource Made = new("Bench.Unsampled.Made");
    private static readonly ActivitySource NotMade = new("Bench.Unsampled.NotMade");
    private static readonly ActivitySource Untraced = new("Bench.Unsampled.Untraced");
    private TracingPipeline? _pipeline;
    private BatchSpanProcessor? _processor;

    [GlobalSetup]
    public void Setup()
    {
        _processor = new BatchSpanProcessor([], new BatchSettings(5000, 30000, 4096, 512), 30000);
        _pipeline = new TracingPipeline(
            Sampler.Create("parentbased_traceidratio", 0),
            _processor,
            new SourceMatcher([Root.Name, Made.Name, NotMade.Name]));
        _pipeline.MakeUnsampled(Made.Name);
        _pipeline.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pipeline?.Dispose();
        _processor?.Shutdown(1000);
    }

    [Benchmark(Baseline = true, Description = "unsampled request, no listener (uninstrumented)")]
    public void NoListener() => Run(Untraced, Untraced);

    [Benchmark(Description = "unsampled request, child made unrecorded")]
    public void ChildMade() => Run(Root, Made);

    [Benchmark(Description = "unsampled request, child not made")]
    public void ChildNotMade() => Run(Root, NotMade);

    private static void Run(ActivitySource root, ActivitySource child)
    {
        using var request = root.StartActivity("GET /items/{id}", ActivityKind.Server);
        using var query = child.StartActivity("SELECT items", ActivityKind.Client);
        query?.SetTag("db.system.name", "postgresql");
    }
}
