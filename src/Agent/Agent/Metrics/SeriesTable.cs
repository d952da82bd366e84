using System.Runtime.InteropServices;

namespace TraceAgent.Metrics;

/// <summary>
/// Finds the point of a set of attributes as a measurement passes them (a span of key/value
/// pairs), without allocating and without a lock: a hash table of immutable entries that readers
/// walk while a writer, under a lock, adds an entry only for a set it has never seen. The same
/// set in another order maps to the same point. At the cardinality limit, new sets go to one
/// overflow point whose only attribute is otel.metric.overflow=true (as the specification says),
/// so memory is bounded whatever the app records.
/// </summary>
internal sealed class SeriesTable
{
    public const string OverflowAttribute = "otel.metric.overflow";
    private const int MaxBuckets = 1 << 16;

    private static readonly object True = true;

    private readonly object _gate = new();
    private readonly int _limit;
    private readonly Func<KeyValuePair<string, object?>[], MetricPoint> _create;
    private readonly Dictionary<KeyValuePair<string, object?>[], MetricPoint> _byCanonical = new(AttributeSetComparer.Instance);
    private Entry?[] _buckets = new Entry?[16];
    private MetricPoint[] _points = new MetricPoint[8];
    private int _pointCount;
    private int _entryCount;
    private MetricPoint? _empty;
    private MetricPoint? _overflow;
    private Entry? _last;

    public SeriesTable(int cardinalityLimit, Func<KeyValuePair<string, object?>[], MetricPoint> create)
    {
        _limit = cardinalityLimit;
        _create = create;
    }

    public int Count => Volatile.Read(ref _pointCount);

    /// <summary>The points so far; the array may be longer than <paramref name="count"/>.</summary>
    public MetricPoint[] Points(out int count)
    {
        // Count first: a point is stored in the array before the count that includes it is published.
        count = Volatile.Read(ref _pointCount);
        return Volatile.Read(ref _points);
    }

    public MetricPoint Find(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return Volatile.Read(ref _empty) ?? Add(tags, 0);
        }

        // Most measurements of an instrument carry the set its last one did (the same route,
        // method and status code): compared in full, it spares hashing every key and value.
        var last = Volatile.Read(ref _last);
        if (last is not null && last.Matches(tags))
        {
            return last.Point;
        }

        var hash = Hash(tags);
        var buckets = Volatile.Read(ref _buckets);
        for (var entry = Volatile.Read(ref buckets[hash & (buckets.Length - 1)]); entry is not null; entry = entry.Next)
        {
            if (entry.Hash == hash && entry.Matches(tags))
            {
                Volatile.Write(ref _last, entry);
                return entry.Point;
            }
        }

        // At the limit every new set is overflow: decided before anything is allocated or locked,
        // so an app that records unbounded attributes pays no more than a lookup.
        if (Volatile.Read(ref _pointCount) >= _limit - 1)
        {
            return Volatile.Read(ref _overflow) ?? Overflow();
        }

        return Add(tags, hash);
    }

    private MetricPoint Add(ReadOnlySpan<KeyValuePair<string, object?>> tags, int hash)
    {
        lock (_gate)
        {
            if (tags.Length == 0)
            {
                return _empty ??= Publish(_create([]));
            }

            var buckets = _buckets;
            for (var entry = buckets[hash & (buckets.Length - 1)]; entry is not null; entry = entry.Next)
            {
                if (entry.Hash == hash && entry.Matches(tags))
                {
                    return entry.Point;
                }
            }

            var given = tags.ToArray();
            var canonical = Canonical(given);
            if (!_byCanonical.TryGetValue(canonical, out var point))
            {
                if (_pointCount >= _limit - 1)
                {
                    return OverflowLocked();
                }

                point = Publish(_create(canonical));
                _byCanonical[canonical] = point;
            }

            // Orders of one set are few in practice; past a bound they are found through the lock.
            if (_entryCount < _limit * 4)
            {
                Insert(new Entry(hash, given, point));
            }

            return point;
        }
    }

    private MetricPoint Overflow()
    {
        lock (_gate)
        {
            return OverflowLocked();
        }
    }

    private MetricPoint OverflowLocked() => _overflow ??= Publish(_create([new(OverflowAttribute, True)]));

    private MetricPoint Publish(MetricPoint point)
    {
        if (_pointCount == _points.Length)
        {
            var grown = new MetricPoint[_points.Length * 2];
            Array.Copy(_points, grown, _pointCount);
            Volatile.Write(ref _points, grown);
        }

        _points[_pointCount] = point;
        Volatile.Write(ref _pointCount, _pointCount + 1);
        return point;
    }

    private void Insert(Entry entry)
    {
        var buckets = _buckets;
        if (_entryCount >= buckets.Length * 2 && buckets.Length < MaxBuckets)
        {
            // New entries for the bigger table: readers still walking the old one see it unchanged.
            var grown = new Entry?[buckets.Length * 4];
            foreach (var head in buckets)
            {
                for (var e = head; e is not null; e = e.Next)
                {
                    var index = e.Hash & (grown.Length - 1);
                    grown[index] = new Entry(e.Hash, e.Tags, e.Point) { Next = grown[index] };
                }
            }

            Volatile.Write(ref _buckets, grown);
            buckets = grown;
        }

        var slot = entry.Hash & (buckets.Length - 1);
        entry.Next = buckets[slot];
        Volatile.Write(ref buckets[slot], entry);
        _entryCount++;
    }

    private static int Hash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = (ulong)tags.Length;
        foreach (ref readonly var tag in tags)
        {
            hash = Mix(hash, StringHash(tag.Key));
            hash = Mix(hash, tag.Value is string text ? StringHash(text) : (ulong)(uint)(tag.Value?.GetHashCode() ?? 0));
        }

        return (int)(hash ^ (hash >> 32)) & int.MaxValue;
    }

    // The runtime's string hash is randomized (Marvin) and costs several times more than this
    // multiply-xor over eight bytes at a time; equal sets are compared in full anyway, and the
    // cardinality limit bounds how long a chain of colliding sets can get.
    private static ulong StringHash(string? text)
    {
        if (text is null)
        {
            return 0;
        }

        var bytes = MemoryMarshal.AsBytes(text.AsSpan());
        var hash = 0xCBF29CE484222325UL ^ (ulong)bytes.Length;
        while (bytes.Length >= 8)
        {
            hash = Mix(hash, MemoryMarshal.Read<ulong>(bytes));
            bytes = bytes[8..];
        }

        if (bytes.Length >= 4)
        {
            hash = Mix(hash, MemoryMarshal.Read<uint>(bytes));
            bytes = bytes[4..];
        }

        if (bytes.Length >= 2)
        {
            hash = Mix(hash, MemoryMarshal.Read<ushort>(bytes));
        }

        return hash;
    }

    private static ulong Mix(ulong hash, ulong value)
    {
        hash = (hash ^ value) * 0x9E3779B97F4A7C15UL;
        return hash ^ (hash >> 29);
    }

    /// <summary>Sorted by key, null values and repeated keys (the last wins) removed.</summary>
    /// <remarks>
    /// A plain insertion sort over an array: a series is made once, with a handful of tags, and
    /// List's search and sort over key-value pairs are generic code the runtime has no precompiled
    /// copy of, compiled at the first measurement of every process.
    /// </remarks>
    private static KeyValuePair<string, object?>[] Canonical(KeyValuePair<string, object?>[] given)
    {
        var sorted = new KeyValuePair<string, object?>[given.Length];
        var count = 0;
        foreach (var tag in given)
        {
            if (tag.Key is null || tag.Value is null)
            {
                continue;
            }

            var at = 0;
            while (at < count && string.CompareOrdinal(sorted[at].Key, tag.Key) < 0)
            {
                at++;
            }

            if (at < count && sorted[at].Key == tag.Key)
            {
                sorted[at] = tag;
                continue;
            }

            Array.Copy(sorted, at, sorted, at + 1, count - at);
            sorted[at] = tag;
            count++;
        }

        if (count == sorted.Length)
        {
            return sorted;
        }

        var exact = new KeyValuePair<string, object?>[count];
        Array.Copy(sorted, exact, count);
        return exact;
    }

    private static bool SameValue(object? a, object? b) => ReferenceEquals(a, b) || (a is not null && a.Equals(b));

    private sealed class Entry(int hash, KeyValuePair<string, object?>[] tags, MetricPoint point)
    {
        public int Hash { get; } = hash;

        public KeyValuePair<string, object?>[] Tags { get; } = tags;

        public MetricPoint Point { get; } = point;

        public Entry? Next { get; set; }

        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var mine = Tags;
            if (mine.Length != tags.Length)
            {
                return false;
            }

            for (var i = 0; i < mine.Length; i++)
            {
                if (!string.Equals(mine[i].Key, tags[i].Key, StringComparison.Ordinal) || !SameValue(mine[i].Value, tags[i].Value))
                {
                    return false;
                }
            }

            return true;
        }
    }

    private sealed class AttributeSetComparer : IEqualityComparer<KeyValuePair<string, object?>[]>
    {
        public static readonly AttributeSetComparer Instance = new();

        public bool Equals(KeyValuePair<string, object?>[]? x, KeyValuePair<string, object?>[]? y)
        {
            if (x is null || y is null || x.Length != y.Length)
            {
                return ReferenceEquals(x, y);
            }

            for (var i = 0; i < x.Length; i++)
            {
                if (!string.Equals(x[i].Key, y[i].Key, StringComparison.Ordinal) || !SameValue(x[i].Value, y[i].Value))
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(KeyValuePair<string, object?>[] obj) => Hash(obj);
    }
}
