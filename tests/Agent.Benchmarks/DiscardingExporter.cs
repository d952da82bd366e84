using TraceAgent.Export;

namespace TraceAgent.Benchmarks;

/// <summary>An exporter that accepts every batch and sends nothing: the span path up to the export, alone.</summary>
internal sealed class DiscardingExporter : IExporter<EncodedSpan>
{
    public string Description => "discard";

    public ExportResult Export(IReadOnlyList<EncodedSpan> batch, DateTime deadlineUtc, CancellationToken cancellationToken) => ExportResult.Success;

    public void Dispose()
    {
    }
}
