using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Benchmarks;

/// <summary>
/// The agent's span pipeline as with OTLP alone (each span encoded as it ends and queued), over
/// the given sources with their hooks, exporting to nothing: the span path up to the export. The
/// queue is large enough that a benchmark measures enqueueing, not dropping.
/// </summary>
internal sealed class BenchPipeline : IDisposable
{
    private readonly TracingPipeline _pipeline;
    private readonly EncodingSpanProcessor _processor;

    public BenchPipeline(params (string Source, SpanHooks? Hooks)[] sources)
    {
        var encoder = new OtlpTraceEncoder([new("service.name", "bench")], new SpanLimits(128, null, 128, 128, 128, 128));
        _processor = new EncodingSpanProcessor(encoder, [new DiscardingExporter()], new BatchSettings(5000, 30000, 1 << 20, 512), 30000);
        _pipeline = new TracingPipeline(Sampler.Create("parentbased_always_on", 1), _processor, new SourceMatcher(sources.Select(s => s.Source).ToList()));
        foreach (var (source, hooks) in sources)
        {
            if (hooks is not null)
            {
                _pipeline.SetHooks(source, hooks);
            }
        }

        _pipeline.Start();
    }

    public void Dispose()
    {
        _pipeline.Dispose();
        _processor.Shutdown(1000);
        _processor.Dispose();
    }

    /// <summary>An exporter that accepts every batch and sends nothing.</summary>
    private sealed class DiscardingExporter : IExporter<EncodedSpan>
    {
        public string Description => "discard";

        public ExportResult Export(IReadOnlyList<EncodedSpan> batch, DateTime deadlineUtc, CancellationToken cancellationToken) => ExportResult.Success;

        public void Dispose()
        {
        }
    }
}
