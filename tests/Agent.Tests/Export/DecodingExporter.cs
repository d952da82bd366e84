using TraceAgent.Export;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.Tests.Export;

/// <summary>Decodes every request as the collector would, and remembers which holders it was handed.</summary>
internal sealed class DecodingExporter : IExporter<EncodedSpan>
{
    private readonly OtlpTraceEncoder _encoder;
    private readonly ProtoWriter _writer = new(16);

    public DecodingExporter(OtlpTraceEncoder encoder) => _encoder = encoder;

    public List<ReceivedSpan> Spans { get; } = [];

    public List<HashSet<EncodedSpan>> Holders { get; } = [];

    public string Description => "decoding test exporter";

    public ExportResult Export(IReadOnlyList<EncodedSpan> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        _writer.Reset();
        _encoder.Encode(_writer, batch);
        Spans.AddRange(OtlpDecoder.DecodeTraces(_writer.WrittenSpan));
        Holders.Add(new HashSet<EncodedSpan>(batch, ReferenceEqualityComparer.Instance));
        return ExportResult.Success;
    }

    public void Dispose()
    {
    }
}
