using System.Diagnostics.CodeAnalysis;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// Values keyed by a native handle or a token (a pointer-sized integer), for concurrent use: reads
/// take no lock, writes take one. The instrumentation's own type rather than a ConcurrentDictionary
/// keyed by nint: the framework has no precompiled code for that instantiation, so every process
/// that loads Confluent.Kafka JIT-compiled about seventeen of its methods (and its comparer's) at
/// start-up and again as they became hot; this type is precompiled with the instrumentation.
/// </summary>
/// <remarks>
/// Chained buckets of immutable nodes: a writer publishes a new chain head (a removal copies the
/// nodes before the removed one) or a new bucket array, so a reader walking a chain it has read
/// always sees a consistent one, the state before or after the write.
/// </remarks>
internal sealed class HandleMap<T>
    where T : class
{
    private readonly object _gate = new();
    private Node?[] _buckets = new Node?[16];
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public bool IsEmpty => Count == 0;

    public bool TryGetValue(nint key, [MaybeNullWhen(false)] out T value)
    {
        var buckets = Volatile.Read(ref _buckets);
        for (var node = Volatile.Read(ref buckets[Index(key, buckets.Length)]); node is not null; node = node.Next)
        {
            if (node.Key == key)
            {
                value = node.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    /// <summary>The value held for <paramref name="key"/>, or <paramref name="value"/> after adding it.</summary>
    public T GetOrAdd(nint key, T value)
    {
        lock (_gate)
        {
            if (TryGetValue(key, out var existing))
            {
                return existing;
            }

            Insert(key, value);
            return value;
        }
    }

    public bool TryAdd(nint key, T value)
    {
        lock (_gate)
        {
            if (TryGetValue(key, out _))
            {
                return false;
            }

            Insert(key, value);
            return true;
        }
    }

    /// <summary>
    /// Adds a value under a key the caller knows is not held (a delivery token, new for each
    /// message): no search of its chain first, as Set and TryAdd make.
    /// </summary>
    public void AddNew(nint key, T value)
    {
        lock (_gate)
        {
            Insert(key, value);
        }
    }

    /// <summary>Adds, or replaces the value held for <paramref name="key"/>.</summary>
    public void Set(nint key, T value)
    {
        lock (_gate)
        {
            RemoveHeld(key, out _);
            Insert(key, value);
        }
    }

    public bool TryRemove(nint key, [MaybeNullWhen(false)] out T value)
    {
        lock (_gate)
        {
            return RemoveHeld(key, out value);
        }
    }

    /// <summary>Removes every value <paramref name="match"/> picks, and returns them.</summary>
    public List<T> RemoveWhere(Func<T, bool> match)
    {
        var removed = new List<T>();
        lock (_gate)
        {
            var keys = new List<nint>();
            foreach (var head in _buckets)
            {
                for (var node = head; node is not null; node = node.Next)
                {
                    if (match(node.Value))
                    {
                        keys.Add(node.Key);
                    }
                }
            }

            foreach (var key in keys)
            {
                if (RemoveHeld(key, out var value))
                {
                    removed.Add(value);
                }
            }
        }

        return removed;
    }

    /// <summary>The values held now.</summary>
    public List<T> Values()
    {
        var values = new List<T>();
        var buckets = Volatile.Read(ref _buckets);
        for (var i = 0; i < buckets.Length; i++)
        {
            for (var node = Volatile.Read(ref buckets[i]); node is not null; node = node.Next)
            {
                values.Add(node.Value);
            }
        }

        return values;
    }

    // Under the lock, for a key not held.
    private void Insert(nint key, T value)
    {
        if (_count >= _buckets.Length)
        {
            Grow();
        }

        var buckets = _buckets;
        var index = Index(key, buckets.Length);
        Volatile.Write(ref buckets[index], new Node(key, value, buckets[index]));
        Volatile.Write(ref _count, _count + 1);
    }

    // Under the lock.
    private bool RemoveHeld(nint key, [MaybeNullWhen(false)] out T value)
    {
        var buckets = _buckets;
        var index = Index(key, buckets.Length);
        var head = buckets[index];
        var found = head;
        while (found is not null && found.Key != key)
        {
            found = found.Next;
        }

        if (found is null)
        {
            value = null;
            return false;
        }

        // The nodes after the removed one are shared; those before it are copied.
        var chain = found.Next;
        for (var node = head; !ReferenceEquals(node, found); node = node!.Next)
        {
            chain = new Node(node!.Key, node.Value, chain);
        }

        Volatile.Write(ref buckets[index], chain);
        Volatile.Write(ref _count, _count - 1);
        value = found.Value;
        return true;
    }

    private void Grow()
    {
        var old = _buckets;
        var grown = new Node?[old.Length * 2];
        foreach (var head in old)
        {
            for (var node = head; node is not null; node = node.Next)
            {
                var index = Index(node.Key, grown.Length);
                grown[index] = new Node(node.Key, node.Value, grown[index]);
            }
        }

        Volatile.Write(ref _buckets, grown);
    }

    // Handles are aligned pointers and tokens odd numbers: a multiplicative hash spreads both.
    private static int Index(nint key, int length) => (int)(((ulong)(long)key * 0x9E3779B97F4A7C15UL) >> 32) & (length - 1);

    private sealed class Node(nint key, T value, Node? next)
    {
        public nint Key { get; } = key;

        public T Value { get; } = value;

        public Node? Next { get; } = next;
    }
}
