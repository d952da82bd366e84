using System.Diagnostics;
using System.Text;
using BenchmarkDotNet.Attributes;
using TraceAgent.Propagation;

namespace TraceAgent.Benchmarks;

/// <summary>
/// The traceparent header on Kafka's side. A consumer's remote context from a message's header
/// bytes: the ids checked and decoded in one pass (what the consumer does), beside the header
/// widened, parsed as text and its ids made by the runtime from their UTF-8 digits (what it did
/// before 2026-12-06). And the producer's header written as bytes from a span's ids.
/// </summary>
[MemoryDiagnoser]
public class KafkaContextBenchmarks
{
    private readonly byte[] _header = Encoding.ASCII.GetBytes("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    private readonly byte[] _written = new byte[TraceParent.Version0Length];
    private readonly ActivityTraceId _traceId = ActivityTraceId.CreateFromString("4bf92f3577b34da6a3ce929d0e0e4736");
    private readonly ActivitySpanId _spanId = ActivitySpanId.CreateFromString("00f067aa0ba902b7");

    [Benchmark(Baseline = true, Description = "parsed as text, ids from their UTF-8 digits")]
    public ActivityContext AsText()
    {
        if (!TraceParent.TryParse(_header, out ReadOnlySpan<byte> traceId, out var spanId, out byte flags))
        {
            return default;
        }

        return new ActivityContext(ActivityTraceId.CreateFromUtf8String(traceId), ActivitySpanId.CreateFromUtf8String(spanId), (ActivityTraceFlags)(flags & TraceParent.KnownFlags), null, isRemote: true);
    }

    [Benchmark(Description = "checked and decoded in one pass")]
    public ActivityContext OnePass() =>
        TraceParent.TryParseIds(_header, out var traceId, out var spanId, out byte flags)
            ? new ActivityContext(traceId, spanId, (ActivityTraceFlags)(flags & TraceParent.KnownFlags), null, isRemote: true)
            : default;

    [Benchmark(Description = "producer: header written from the ids")]
    public byte Written()
    {
        TraceParent.Format(_traceId, _spanId, 1, _written);
        return _written[54];
    }
}
