using System.Diagnostics;
using System.Runtime.InteropServices;
using TraceAgent.Propagation;

namespace TraceAgent.Metrics;

/// <summary>An exemplar as collected: a measurement and the span it was made in.</summary>
internal struct CollectedExemplar
{
    public double Value;
    public ulong TimeUnixNano;
    public ulong TraceId0;
    public ulong TraceId1;
    public ulong SpanId;
    public bool HasContext;

    public readonly void CopyTraceId(Span<byte> destination)
    {
        MemoryMarshal.Write(destination, in TraceId0);
        MemoryMarshal.Write(destination[8..], in TraceId1);
    }

    public readonly void CopySpanId(Span<byte> destination) => MemoryMarshal.Write(destination, in SpanId);
}

/// <summary>
/// The span a measurement was made in, for its exemplar: an Activity, or the ids of a span written
/// with no Activity (DirectSpans). Its ids are read only when the measurement becomes an exemplar.
/// </summary>
internal readonly struct ExemplarSpan
{
    private readonly Activity? _activity;
    private readonly ActivityTraceId _traceId;
    private readonly ulong _spanId;
    private readonly bool _sampled;

    public ExemplarSpan(ActivityTraceId traceId, ulong spanId, bool sampled)
    {
        _traceId = traceId;
        _spanId = spanId;
        _sampled = sampled;
    }

    private ExemplarSpan(Activity activity)
    {
        _activity = activity;
    }

    public bool IsNone => _activity is null && _spanId == 0;

    /// <summary>Whether the span is sampled (the trace_based exemplar filter).</summary>
    public bool Sampled => _activity?.Recorded ?? _sampled;

    public static implicit operator ExemplarSpan(Activity? activity) => activity is null ? default : new ExemplarSpan(activity);

    public void Write(ref CollectedExemplar exemplar)
    {
        Span<byte> id = stackalloc byte[16];
        LowerHex.DecodeId((_activity?.TraceId ?? _traceId).ToHexString(), id);
        exemplar.TraceId0 = MemoryMarshal.Read<ulong>(id);
        exemplar.TraceId1 = MemoryMarshal.Read<ulong>(id[8..]);
        if (_activity is null)
        {
            exemplar.SpanId = _spanId;
        }
        else
        {
            LowerHex.DecodeId(_activity.SpanId.ToHexString(), id[..8]);
            exemplar.SpanId = MemoryMarshal.Read<ulong>(id);
        }

        exemplar.HasContext = true;
    }
}

/// <summary>
/// The specification's aligned-histogram-bucket reservoir: at most one exemplar per bucket,
/// chosen uniformly among the bucket's offers in the interval. An offer never waits: a slot busy
/// with another writer (or the collector) is skipped, since losing one candidate exemplar costs
/// nothing. Nothing here allocates.
/// </summary>
internal sealed class ExemplarReservoir
{
    private const int Empty = 0;
    private const int Busy = 1;
    private const int Full = 2;

    private readonly Slot[] _slots;

    public ExemplarReservoir(int buckets)
    {
        _slots = new Slot[buckets];
    }

    public void Offer(int bucket, double value, in ExemplarSpan span)
    {
        ref var slot = ref _slots[bucket];
        var offers = Interlocked.Increment(ref slot.Offers);
        if (offers > 1 && Random.Shared.NextInt64(offers) != 0)
        {
            return;
        }

        var state = Volatile.Read(ref slot.State);
        if (state == Busy || Interlocked.CompareExchange(ref slot.State, Busy, state) != state)
        {
            return;
        }

        slot.Exemplar.Value = value;
        slot.Exemplar.TimeUnixNano = MetricClock.NowUnixNano();
        if (span.IsNone)
        {
            slot.Exemplar.HasContext = false;
        }
        else
        {
            span.Write(ref slot.Exemplar);
        }

        Volatile.Write(ref slot.State, Full);
    }

    /// <summary>Moves this interval's exemplars into <paramref name="into"/> and empties the reservoir; collector thread only.</summary>
    public int Collect(CollectedExemplar[] into)
    {
        var count = 0;
        for (var i = 0; i < _slots.Length; i++)
        {
            ref var slot = ref _slots[i];
            var spin = default(SpinWait);
            while (true)
            {
                var state = Volatile.Read(ref slot.State);
                if (state == Empty)
                {
                    break;
                }

                if (state == Full && Interlocked.CompareExchange(ref slot.State, Busy, Full) == Full)
                {
                    into[count++] = slot.Exemplar;
                    Volatile.Write(ref slot.State, Empty);
                    break;
                }

                // A writer is filling the slot: it takes a few nanoseconds and never blocks.
                spin.SpinOnce(sleep1Threshold: -1);
            }

            Volatile.Write(ref slot.Offers, 0);
        }

        return count;
    }

    private struct Slot
    {
        public int State;
        public long Offers;
        public CollectedExemplar Exemplar;
    }
}
