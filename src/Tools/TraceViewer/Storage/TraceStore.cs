using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Model;
using TraceAgent.Viewer.Output;
using TraceAgent.Viewer.Query;

namespace TraceAgent.Viewer.Storage;

/// <summary>
/// Every finished trace the viewer keeps, indexed in memory for the web UI and the query API,
/// and written through to a SQLite file unless the store is memory-only. Bounded by count and by
/// age: the oldest traces (by the time they were stored) go first, and every trace dropped is
/// counted, across restarts when there is a file.
/// </summary>
internal sealed class TraceStore : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, StoredTrace> _traces = new(StringComparer.Ordinal);
    private readonly SortedSet<(long StoredAt, string TraceId)> _byAge = [];
    private readonly Dictionary<string, Dictionary<(string Name, int Kind), int>> _operations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _linkedSpanIds = new(StringComparer.Ordinal);
    private readonly StoreOptions _options;
    private readonly SqliteTraceArchive? _archive;
    private readonly TimeProvider _time;
    private StoredTrace[]? _newestFirst;
    private long _dropped;
    private long _version;

    private TraceStore(StoreOptions options, SqliteTraceArchive? archive, TimeProvider time)
    {
        _options = options;
        _archive = archive;
        _time = time;
    }

    public int MaxTraces => _options.MaxTraces;

    public TimeSpan MaxAge => _options.MaxAge;

    /// <summary>The database file, or null for a memory-only store.</summary>
    public string? DatabasePath => _archive?.Path;

    /// <summary>Traces read back from the file at start.</summary>
    public int Loaded { get; private set; }

    /// <summary>Rows of the file that could not be read at start (skipped, left in place).</summary>
    public int Unreadable { get; private set; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _traces.Count;
            }
        }
    }

    /// <summary>Traces dropped by the count and age bounds since the store (or its file) was created.</summary>
    public long Dropped
    {
        get
        {
            lock (_lock)
            {
                return _dropped;
            }
        }
    }

    /// <summary>Changes whenever a trace is stored or dropped; lets a page tell that there is something new.</summary>
    public long Version
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    /// <summary>Opens the store; with a database path, loads the traces kept there (with the findings made when they were stored).</summary>
    /// <exception cref="IOException">The database file cannot be used.</exception>
    public static TraceStore Open(StoreOptions options, TimeProvider? time = null)
    {
        SqliteTraceArchive? archive = options.DatabasePath is null ? null : SqliteTraceArchive.Open(options.DatabasePath);
        var store = new TraceStore(options, archive, time ?? TimeProvider.System);
        if (archive is not null)
        {
            try
            {
                store.Load(archive);
            }
            catch
            {
                archive.Dispose();
                throw;
            }
        }

        return store;
    }

    /// <summary>Stores finished traces (replacing earlier versions of the same traces), then applies the bounds.</summary>
    public void PutAll(IReadOnlyList<ReportedTrace> traces)
    {
        if (traces.Count == 0)
        {
            return;
        }

        long now = NowUnixNano();
        var stored = new List<StoredTrace>(traces.Count);
        List<string> dropped;
        long droppedCount;
        lock (_lock)
        {
            foreach (ReportedTrace reported in traces)
            {
                var trace = new StoredTrace(reported, now);
                Add(trace);
                stored.Add(trace);
            }

            dropped = EnforceBounds(now);
            droppedCount = _dropped;
        }

        // A trace stored and dropped in the same round never reaches the file.
        var droppedIds = dropped.ToHashSet(StringComparer.Ordinal);
        _archive?.Apply([.. stored.Where(s => !droppedIds.Contains(s.TraceId))], dropped, droppedCount);
    }

    /// <summary>Drops the traces older than the age bound; called on a timer.</summary>
    public int Prune()
    {
        List<string> dropped;
        long droppedCount;
        lock (_lock)
        {
            dropped = EnforceBounds(NowUnixNano());
            droppedCount = _dropped;
        }

        if (dropped.Count > 0)
        {
            _archive?.Apply([], dropped, droppedCount);
        }

        return dropped.Count;
    }

    public StoredTrace? Get(string traceId)
    {
        lock (_lock)
        {
            return _traces.GetValueOrDefault(traceId.ToLowerInvariant());
        }
    }

    /// <summary>Every trace, newest (by start time) first.</summary>
    public IReadOnlyList<StoredTrace> NewestFirst()
    {
        lock (_lock)
        {
            return _newestFirst ??= [.. _traces.Values.OrderByDescending(t => t.Tree.Start).ThenBy(t => t.TraceId, StringComparer.Ordinal)];
        }
    }

    /// <summary>Every trace in the order it was stored: what the JSON report lists.</summary>
    public IReadOnlyList<ReportedTrace> InStoredOrder()
    {
        lock (_lock)
        {
            return [.. _byAge.Select(entry => _traces[entry.TraceId].Reported)];
        }
    }

    /// <summary>The traces that match, in <paramref name="order"/> (newest first by default), at most the query's limit.</summary>
    public SearchResult Search(TraceQuery query, TraceOrder order = TraceOrder.Newest)
    {
        IReadOnlyList<StoredTrace> all = NewestFirst();
        var matched = new List<StoredTrace>();
        foreach (StoredTrace trace in all)
        {
            if (query.Matches(trace))
            {
                matched.Add(trace);
            }
        }

        // The order applies before the limit: "longest first" means the longest of all matches.
        IEnumerable<StoredTrace> ordered = order switch
        {
            TraceOrder.Oldest => Enumerable.Reverse(matched),
            TraceOrder.Longest => matched.OrderByDescending(t => t.Tree.DurationNanos),
            TraceOrder.Shortest => matched.OrderBy(t => t.Tree.DurationNanos),
            TraceOrder.MostSpans => matched.OrderByDescending(t => t.Tree.Spans.Count),
            _ => matched,
        };

        return new SearchResult([.. ordered.Take(query.Limit)], matched.Count, all.Count);
    }

    public IReadOnlyList<string> Services()
    {
        lock (_lock)
        {
            return [.. _operations.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The operations (span names) of a service with their span kinds; <paramref name="kind"/> filters.</summary>
    public IReadOnlyList<(string Name, int Kind)> Operations(string service, int? kind = null)
    {
        lock (_lock)
        {
            return _operations.TryGetValue(service, out Dictionary<(string Name, int Kind), int>? operations)
                ? [.. operations.Keys.Where(o => kind is null || o.Kind == kind).OrderBy(o => o.Name, StringComparer.Ordinal).ThenBy(o => o.Kind)]
                : [];
        }
    }

    /// <summary>Whether any stored span links to this span id (Kafka consumers in link mode).</summary>
    public bool IsLinked(string spanId)
    {
        lock (_lock)
        {
            return _linkedSpanIds.ContainsKey(spanId);
        }
    }

    public void Dispose() => _archive?.Dispose();

    private void Load(SqliteTraceArchive archive)
    {
        List<ArchivedRow> rows = archive.LoadAll();
        _dropped = archive.LoadDroppedCount();

        // The findings were stored with the trace: reading back needs no analysis, only the tree.
        var traces = rows.AsParallel().AsOrdered().Select(row =>
        {
            try
            {
                (List<ReceivedSpan> spans, List<ReceivedLogRecord> logs, List<Finding> findings) = TraceCodec.Decode(row.Data);
                TraceTree tree = TraceTree.Build(row.TraceId, spans, logs);
                return new StoredTrace(new ReportedTrace(tree, findings, row.Complete), row.StoredAtUnixNano);
            }
            catch (InvalidDataException)
            {
                return null;
            }
        }).ToList();

        lock (_lock)
        {
            foreach (StoredTrace? trace in traces)
            {
                if (trace is null)
                {
                    Unreadable++;
                    continue;
                }

                Add(trace);
            }

            Loaded = _traces.Count;
        }

        Prune();
    }

    private void Add(StoredTrace trace)
    {
        if (_traces.TryGetValue(trace.TraceId, out StoredTrace? previous))
        {
            Remove(previous);
        }

        _traces[trace.TraceId] = trace;
        _byAge.Add((trace.StoredAtUnixNano, trace.TraceId));
        foreach (SpanNode span in trace.Tree.Spans)
        {
            if (!_operations.TryGetValue(span.Service, out Dictionary<(string Name, int Kind), int>? operations))
            {
                _operations[span.Service] = operations = [];
            }

            (string, int) key = (span.Span.Name, span.Span.Kind);
            operations[key] = operations.GetValueOrDefault(key) + 1;
            foreach (ReceivedSpanLink link in span.Span.Links)
            {
                _linkedSpanIds[link.SpanId] = _linkedSpanIds.GetValueOrDefault(link.SpanId) + 1;
            }
        }

        Changed();
    }

    private void Remove(StoredTrace trace)
    {
        _traces.Remove(trace.TraceId);
        _byAge.Remove((trace.StoredAtUnixNano, trace.TraceId));
        foreach (SpanNode span in trace.Tree.Spans)
        {
            Dictionary<(string Name, int Kind), int> operations = _operations[span.Service];
            (string, int) key = (span.Span.Name, span.Span.Kind);
            if (--operations[key] == 0)
            {
                operations.Remove(key);
                if (operations.Count == 0)
                {
                    _operations.Remove(span.Service);
                }
            }

            foreach (ReceivedSpanLink link in span.Span.Links)
            {
                if (--_linkedSpanIds[link.SpanId] == 0)
                {
                    _linkedSpanIds.Remove(link.SpanId);
                }
            }
        }

        Changed();
    }

    private List<string> EnforceBounds(long now)
    {
        var dropped = new List<string>();
        long oldestKept = now - _options.MaxAge.Ticks * 100;
        while (_byAge.Count > 0 && (_byAge.Count > _options.MaxTraces || _byAge.Min.StoredAt < oldestKept))
        {
            StoredTrace oldest = _traces[_byAge.Min.TraceId];
            Remove(oldest);
            dropped.Add(oldest.TraceId);
            _dropped++;
        }

        return dropped;
    }

    private void Changed()
    {
        _newestFirst = null;
        _version++;
    }

    private long NowUnixNano() => (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
}

internal sealed record SearchResult(IReadOnlyList<StoredTrace> Traces, int Matched, int Searched);

internal enum TraceOrder
{
    Newest,
    Oldest,
    Longest,
    Shortest,
    MostSpans,
}
