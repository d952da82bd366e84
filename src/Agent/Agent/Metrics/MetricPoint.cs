using System.Diagnostics;

namespace TraceAgent.Metrics;

/// <summary>
/// The aggregate of one metric for one set of attributes. Measurements update it from the app's
/// threads with interlocked operations only (no lock, no allocation); the collector thread copies
/// it into the Collected* fields, which the encoders read.
/// </summary>
internal sealed class MetricPoint
{
    // Not Array.Empty: its instantiation over the agent's own struct is in no ReadyToRun image, and
    // every process JIT-compiled it at start.
#pragma warning disable CA1825 // Avoid zero-length array allocations: one, shared
    private static readonly CollectedExemplar[] NoExemplars = new CollectedExemplar[0];
#pragma warning restore CA1825

    private readonly long[]? _buckets;
    private readonly ExemplarReservoir? _exemplars;
    private long _long;
    private double _double;
    private double _sum;
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;
    private int _updated;
    private long _observedEpoch = -1;
    private long _lastObservedLong;
    private double _lastObservedDouble;

    public MetricPoint(KeyValuePair<string, object?>[] attributes, int bucketCount, bool exemplars)
    {
        Attributes = attributes;
        if (bucketCount > 0)
        {
            _buckets = new long[bucketCount];
            CollectedBuckets = new long[bucketCount];
            if (exemplars)
            {
                _exemplars = new ExemplarReservoir(bucketCount);
                CollectedExemplars = new CollectedExemplar[bucketCount];
            }
        }
    }

    /// <summary>Sorted by key, no null values; encoded as the point's attributes.</summary>
    public KeyValuePair<string, object?>[] Attributes { get; }

    /// <summary>The collection this point was last exported in (see <see cref="MetricStream.Collect"/>).</summary>
    public long CollectedEpoch { get; set; } = -1;

    public ulong CollectedStartTime { get; set; }

    public long CollectedLong { get; set; }

    public double CollectedDouble { get; set; }

    public long[] CollectedBuckets { get; } = [];

    public long CollectedCount { get; set; }

    public double CollectedSum { get; set; }

    public double CollectedMin { get; set; }

    public double CollectedMax { get; set; }

    public CollectedExemplar[] CollectedExemplars { get; } = NoExemplars;

    public int CollectedExemplarCount { get; set; }

    public void Add(long value)
    {
        Interlocked.Add(ref _long, value);
        MarkUpdated();
    }

    public void Add(double value)
    {
        AddDouble(ref _double, value);
        MarkUpdated();
    }

    public void Set(long value)
    {
        Interlocked.Exchange(ref _long, value);
        MarkUpdated();
    }

    public void Set(double value)
    {
        Interlocked.Exchange(ref _double, value);
        MarkUpdated();
    }

    /// <summary>An observable instrument's value for the collection <paramref name="epoch"/>; several observations of one point in a collection add up.</summary>
    public void Observe(long value, long epoch)
    {
        if (Interlocked.Exchange(ref _observedEpoch, epoch) == epoch)
        {
            Interlocked.Add(ref _long, value);
        }
        else
        {
            Interlocked.Exchange(ref _long, value);
        }
    }

    public void Observe(double value, long epoch)
    {
        if (Interlocked.Exchange(ref _observedEpoch, epoch) == epoch)
        {
            AddDouble(ref _double, value);
        }
        else
        {
            Interlocked.Exchange(ref _double, value);
        }
    }

    public void RecordHistogram(double value, double[] bounds, bool offerExemplar, in ExemplarSpan span)
    {
        var bucket = BucketIndex(bounds, value);
        Interlocked.Increment(ref _buckets![bucket]);
        AddDouble(ref _sum, value);
        var min = Volatile.Read(ref _min);
        while (value < min)
        {
            var seen = Interlocked.CompareExchange(ref _min, value, min);
            if (seen == min)
            {
                break;
            }

            min = seen;
        }

        var max = Volatile.Read(ref _max);
        while (value > max)
        {
            var seen = Interlocked.CompareExchange(ref _max, value, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }

        if (offerExemplar)
        {
            _exemplars?.Offer(bucket, value, span);
        }

        MarkUpdated();
    }

    /// <summary>
    /// Copies the sum into the Collected* fields; for delta, takes and resets it. Returns false
    /// when a delta point had no measurement since the last collection (nothing to export).
    /// </summary>
    public bool CollectSum(bool delta, bool isInteger)
    {
        var updated = Interlocked.Exchange(ref _updated, 0) == 1;
        if (delta && !updated)
        {
            return false;
        }

        if (isInteger)
        {
            CollectedLong = delta ? Interlocked.Exchange(ref _long, 0) : Interlocked.Read(ref _long);
        }
        else
        {
            CollectedDouble = delta ? Interlocked.Exchange(ref _double, 0) : Volatile.Read(ref _double);
        }

        return true;
    }

    /// <summary>The last value of a synchronous gauge; delta exports only gauges set since the last collection.</summary>
    public bool CollectLastValue(bool delta, bool isInteger)
    {
        var updated = Interlocked.Exchange(ref _updated, 0) == 1;
        if (delta && !updated)
        {
            return false;
        }

        CollectedLong = Interlocked.Read(ref _long);
        CollectedDouble = Volatile.Read(ref _double);
        _ = isInteger;
        return true;
    }

    /// <summary>An observable instrument's point, exported only when observed in <paramref name="epoch"/>.</summary>
    public bool CollectObserved(long epoch, bool deltaFromLast, bool isInteger)
    {
        if (Interlocked.Read(ref _observedEpoch) != epoch)
        {
            return false;
        }

        if (isInteger)
        {
            var value = Interlocked.Read(ref _long);
            CollectedLong = deltaFromLast ? value - _lastObservedLong : value;
            _lastObservedLong = value;
        }
        else
        {
            var value = Volatile.Read(ref _double);
            CollectedDouble = deltaFromLast ? value - _lastObservedDouble : value;
            _lastObservedDouble = value;
        }

        return true;
    }

    /// <summary>
    /// Copies the histogram. The count is the sum of the bucket counts as read, so a point always
    /// adds up even while measurements arrive; sum, min and max may include a measurement whose
    /// bucket lands in the next collection.
    /// </summary>
    public bool CollectHistogram(bool delta)
    {
        var updated = Interlocked.Exchange(ref _updated, 0) == 1;
        if (delta && !updated)
        {
            return false;
        }

        var buckets = _buckets!;
        long count = 0;
        for (var i = 0; i < buckets.Length; i++)
        {
            var n = delta ? Interlocked.Exchange(ref buckets[i], 0) : Interlocked.Read(ref buckets[i]);
            CollectedBuckets[i] = n;
            count += n;
        }

        CollectedCount = count;
        if (delta)
        {
            CollectedSum = Interlocked.Exchange(ref _sum, 0);
            CollectedMin = Interlocked.Exchange(ref _min, double.PositiveInfinity);
            CollectedMax = Interlocked.Exchange(ref _max, double.NegativeInfinity);
        }
        else
        {
            CollectedSum = Volatile.Read(ref _sum);
            CollectedMin = Volatile.Read(ref _min);
            CollectedMax = Volatile.Read(ref _max);
        }

        CollectedExemplarCount = _exemplars?.Collect(CollectedExemplars) ?? 0;
        return true;
    }

    /// <summary>The bucket of a value: bucket i holds (bounds[i-1], bounds[i]], the last one everything above.</summary>
    public static int BucketIndex(double[] bounds, double value)
    {
        if (bounds.Length <= 8)
        {
            for (var i = 0; i < bounds.Length; i++)
            {
                if (value <= bounds[i])
                {
                    return i;
                }
            }

            return bounds.Length;
        }

        int low = 0, high = bounds.Length - 1;
        while (low <= high)
        {
            var mid = (low + high) >> 1;
            if (value <= bounds[mid])
            {
                high = mid - 1;
            }
            else
            {
                low = mid + 1;
            }
        }

        return low;
    }

    private void MarkUpdated()
    {
        // A plain check first: the flag is set once per interval, and the interlocked write only then.
        if (Volatile.Read(ref _updated) == 0)
        {
            Volatile.Write(ref _updated, 1);
        }
    }

    private static void AddDouble(ref double location, double value)
    {
        var current = Volatile.Read(ref location);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref location, current + value, current);
            if (seen.Equals(current))
            {
                return;
            }

            current = seen;
        }
    }
}
