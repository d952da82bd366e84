using System.Collections.Concurrent;
using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Tracing;

namespace TraceAgent.Export;

/// <summary>One ended span as OTLP bytes (its ScopeSpans.spans field), and the source it came from.</summary>
internal sealed class EncodedSpan
{
    public ActivitySource? Source { get; set; }

    public byte[] Bytes { get; private set; } = new byte[256];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Written => Bytes.AsSpan(0, Length);

    /// <summary>What a writer wrote into <see cref="Bytes"/> (the same array, or a larger one it grew into).</summary>
    public void SetWritten(byte[] bytes, int length)
    {
        Bytes = bytes;
        Length = length;
    }
}

/// <summary>
/// The batch processor when OTLP is the only trace exporter: each span is encoded as it ends, on
/// the thread that ends it, and its bytes wait for the export instead of its Activity. An Activity
/// held until export (with its attributes, events and its parent) outlived the collections of the
/// youngest generation, which made the runtime grow that generation: tens of MB more resident
/// memory under load, for spans that encode to a few hundred bytes. The bytes live in holders that
/// are reused from batch to batch, so a span's export allocates nothing and keeps nothing young alive.
/// </summary>
internal sealed class EncodingSpanProcessor : BatchExportProcessor<EncodedSpan>, ISpanProcessor
{
    // A holder that grew for an unusually large span is not kept for the next one.
    private const int MaxReusedBytes = 8 * 1024;
    private const int MaxFreeHolders = 16 * 1024;

    private readonly OtlpTraceEncoder _encoder;
    private readonly ConcurrentQueue<EncodedSpan> _free = new();
    private readonly int _maxFree;
    private int _freeCount;

    public EncodingSpanProcessor(OtlpTraceEncoder encoder, IReadOnlyList<IExporter<EncodedSpan>> exporters, BatchSettings settings, int exportTimeoutMilliseconds)
        : base(exporters, settings, exportTimeoutMilliseconds, "spans", "traceagent-export")
    {
        _encoder = encoder;

        // As many as the queue holds (with the batch being exported), so that a steady flow never
        // makes holders: one made per span would live until its export, the survival this class
        // exists to avoid. Bounded for a very large queue; beyond it a burst makes holders, and those
        // returned beyond the bound are left to the collector.
        _maxFree = Math.Min(settings.MaxQueueSize, MaxFreeHolders) + settings.MaxExportBatchSize;
    }

    public void OnEnd(Activity activity) => OnEnd(activity, null);

    /// <summary>A span whose instrumentation writes some of its attributes as it is encoded (SpanHooks.WriteAttributes).</summary>
    public void OnEnd(Activity activity, SpanAttributeWriter? attributes)
    {
        var span = Rent();
        try
        {
            _encoder.Encode(activity, span, attributes);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("span encoding", ex);
            Release(span);
            return;
        }

        Queue(span);
    }

    /// <summary>A span written with no Activity (TracingPipeline.WriteDirect).</summary>
    public void OnEnd(in DirectSpan direct, ulong spanId)
    {
        var span = Rent();
        try
        {
            _encoder.Encode(direct, spanId, span);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("span encoding", ex);
            Release(span);
            return;
        }

        Queue(span);
    }

    private EncodedSpan Rent()
    {
        if (!_free.TryDequeue(out var span))
        {
            return new EncodedSpan();
        }

        Interlocked.Decrement(ref _freeCount);
        return span;
    }

    private void Queue(EncodedSpan span)
    {
        if (!Add(span))
        {
            Release(span);
        }
    }

    protected override void OnExported(List<EncodedSpan> batch)
    {
        // The pool's count moves once for the batch, not once per holder.
        var room = _maxFree - Volatile.Read(ref _freeCount);
        var returned = 0;
        foreach (var span in batch)
        {
            if (Reusable(span) && returned < room)
            {
                _free.Enqueue(span);
                returned++;
            }
        }

        Interlocked.Add(ref _freeCount, returned);
    }

    /// <summary>Forgets the holder's source; false when it grew too large to keep for the next span.</summary>
    private static bool Reusable(EncodedSpan span)
    {
        span.Source = null;
        return span.Bytes.Length <= MaxReusedBytes;
    }

    private void Release(EncodedSpan span)
    {
        if (!Reusable(span))
        {
            return;
        }

        if (Interlocked.Increment(ref _freeCount) > _maxFree)
        {
            Interlocked.Decrement(ref _freeCount);
            return;
        }

        _free.Enqueue(span);
    }
}
