using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Tracing;

namespace TraceAgent.Sampling;

/// <summary>
/// Keeps the traces the head sampler did not choose when they turn out to matter. Their spans are
/// recorded (all data, but without the sampled flag, so services downstream make their own
/// decision) and held here, per trace, until the last of the trace's local roots in this process
/// ends; the trace is then exported whole when a span ended with an error status (keep errors) or a
/// local root lasted at least the threshold (keep slow), and dropped otherwise.
/// </summary>
/// <remarks>
/// Memory is bounded by a cap on the spans held across all traces: beyond it a span is dropped and
/// counted, and the trace, if kept, is exported without it. A kept trace's decision is remembered
/// for a while, so spans that end after their local root (a fire-and-forget call, Redis command
/// spans made at the root's end) still follow it; a trace whose root never ends is given up.
/// </remarks>
internal sealed class TraceKeeper : IDisposable
{
    public const string ReasonAttribute = "traceagent.sampling.reason";
    private static readonly long KeptLingerTicks = Stopwatch.Frequency * 30;
    private static readonly long OpenLimitTicks = Stopwatch.Frequency * 600;

    private readonly ConcurrentDictionary<ActivityTraceId, Entry> _entries = new();
    private readonly Action<Activity> _export;
    private readonly bool _keepErrors;
    private readonly TimeSpan? _slowerThan;
    private readonly int _maxBuffered;
    private readonly Timer _sweeper;
    private int _buffered;
    private long _overflowed;
    private long _reportedOverflow;
    private long _lastOverflowReport;
    private long _kept;
    private long _dropped;

    public TraceKeeper(Action<Activity> export, bool keepErrors, int? slowerThanMilliseconds, int maxBufferedSpans)
    {
        _export = export;
        _keepErrors = keepErrors;
        _slowerThan = slowerThanMilliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        _maxBuffered = maxBufferedSpans;
        _sweeper = new Timer(static s => ((TraceKeeper)s!).Sweep(Stopwatch.GetTimestamp()), this, 5000, 5000);
    }

    /// <summary>Spans held now, across all undecided traces.</summary>
    public int Buffered => Volatile.Read(ref _buffered);

    /// <summary>Spans dropped because the buffer was full.</summary>
    public long Overflowed => Interlocked.Read(ref _overflowed);

    /// <summary>Traces kept (error or slow) and dropped so far.</summary>
    public (long Kept, long Dropped) Decisions => (Interlocked.Read(ref _kept), Interlocked.Read(ref _dropped));

    /// <summary>True when a span of this trace, made under an unsampled local parent, must be recorded.</summary>
    public bool IsHeld(ActivityTraceId traceId) => _entries.ContainsKey(traceId);

    /// <summary>A local root the head sampler did not choose: its trace is held until its roots end.</summary>
    public void OpenRoot(Activity root)
    {
        while (true)
        {
            var entry = _entries.GetOrAdd(root.TraceId, static _ => new Entry());
            lock (entry)
            {
                if (entry.Removed)
                {
                    continue;
                }

                if (entry.Decision == Decision.Keep)
                {
                    // The trace is kept already: this root follows it, as a late span would.
                    return;
                }

                entry.Roots.Add(root);
                return;
            }
        }
    }

    /// <summary>
    /// A recorded span of a held trace ended (after its instrumentation finished it). Unless its
    /// trace is dropped now, <paramref name="onHeldEnd"/> completes it first (an instrumentation
    /// that tags held spans only when they may be exported).
    /// </summary>
    public void OnEnd(Activity activity, Action<Activity>? onHeldEnd = null)
    {
        if (!_entries.TryGetValue(activity.TraceId, out var entry))
        {
            // Its trace was dropped already (or never held): nothing keeps it.
            return;
        }

        List<Activity>? export = null;
        lock (entry)
        {
            if (entry.Removed)
            {
                return;
            }

            if (entry.Decision == Decision.Keep)
            {
                SpanHooks.Run(onHeldEnd, activity, "end");
                export = [activity];
            }
            else
            {
                entry.Error |= _keepErrors && activity.Status == ActivityStatusCode.Error;
                var isRoot = entry.Roots.Remove(activity);
                if (isRoot)
                {
                    entry.Slow |= _slowerThan is { } slow && activity.Duration >= slow;
                    entry.EndedRoots.Add(activity);
                }

                if (isRoot && entry.Roots.Count == 0)
                {
                    // The last local root: the trace is decided now, and the span completed only
                    // when it is kept.
                    Hold(entry, activity);
                    export = Decide(activity.TraceId, entry);
                    if (export is not null)
                    {
                        SpanHooks.Run(onHeldEnd, activity, "end");
                    }
                }
                else
                {
                    // Undecided: what the instrumentation reads to complete the span (a request's
                    // HttpContext) may not outlive this call.
                    SpanHooks.Run(onHeldEnd, activity, "end");
                    Hold(entry, activity);
                }
            }
        }

        if (export is not null)
        {
            foreach (var span in export)
            {
                span.ActivityTraceFlags |= ActivityTraceFlags.Recorded;
                _export(span);
            }
        }
    }

    /// <summary>
    /// A held local root that ends unrecorded (an instrumentation filtered it out after it started):
    /// it no longer keeps its trace open.
    /// </summary>
    public void OnUnrecordedEnd(Activity activity)
    {
        if (!_entries.TryGetValue(activity.TraceId, out var entry))
        {
            return;
        }

        List<Activity>? export = null;
        lock (entry)
        {
            if (!entry.Removed && entry.Decision == Decision.None && entry.Roots.Remove(activity) && entry.Roots.Count == 0)
            {
                export = Decide(activity.TraceId, entry);
            }
        }

        if (export is not null)
        {
            foreach (var span in export)
            {
                span.ActivityTraceFlags |= ActivityTraceFlags.Recorded;
                _export(span);
            }
        }
    }

    private void Hold(Entry entry, Activity activity)
    {
        if (Interlocked.Increment(ref _buffered) > _maxBuffered)
        {
            Interlocked.Decrement(ref _buffered);
            Interlocked.Increment(ref _overflowed);
            ReportOverflow();
            return;
        }

        entry.Spans.Add(activity);
    }

    /// <summary>Called under the entry's lock when its last local root ended.</summary>
    private List<Activity>? Decide(ActivityTraceId traceId, Entry entry)
    {
        Interlocked.Add(ref _buffered, -entry.Spans.Count);
        if (!entry.Error && !entry.Slow)
        {
            entry.Removed = true;
            entry.Spans.Clear();
            _entries.TryRemove(new KeyValuePair<ActivityTraceId, Entry>(traceId, entry));
            Interlocked.Increment(ref _dropped);
            return null;
        }

        var reason = entry.Error ? "error" : "slow";
        for (int i = 0; i < entry.EndedRoots.Count; i++)
        {
            entry.EndedRoots[i].SetTag(ReasonAttribute, reason);
        }

        entry.Decision = Decision.Keep;
        entry.DecidedAt = Stopwatch.GetTimestamp();
        var spans = entry.Spans.TakeAll();
        entry.EndedRoots.Clear();
        Interlocked.Increment(ref _kept);
        return spans;
    }

    /// <summary>Gives up traces whose root has not ended in 10 minutes and forgets kept ones after 30 s, as of <paramref name="now"/> (a Stopwatch timestamp).</summary>
    internal void Sweep(long now)
    {
        try
        {
            foreach (var (traceId, entry) in _entries)
            {
                lock (entry)
                {
                    var expired = entry.Decision == Decision.Keep
                        ? now - entry.DecidedAt > KeptLingerTicks
                        : now - entry.OpenedAt > OpenLimitTicks;
                    if (!expired)
                    {
                        continue;
                    }

                    if (entry.Decision == Decision.None)
                    {
                        // A root that never ended: give its trace up rather than hold it forever.
                        Interlocked.Add(ref _buffered, -entry.Spans.Count);
                        Interlocked.Increment(ref _dropped);
                        entry.Spans.Clear();
                    }

                    entry.Removed = true;
                    _entries.TryRemove(new KeyValuePair<ActivityTraceId, Entry>(traceId, entry));
                }
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("sampling buffer sweep", ex);
        }
    }

    private void ReportOverflow()
    {
        // At most one line a minute, with the running total.
        var now = Stopwatch.GetTimestamp();
        var last = Interlocked.Read(ref _lastOverflowReport);
        if ((last != 0 && now - last < Stopwatch.Frequency * 60) || Interlocked.CompareExchange(ref _lastOverflowReport, now, last) != last)
        {
            return;
        }

        var total = Overflowed;
        if (total == Interlocked.Exchange(ref _reportedOverflow, total))
        {
            return;
        }

        AgentLog.Warning(string.Create(CultureInfo.InvariantCulture, $"sampling: {total} spans of undecided traces dropped so far: the buffer is full (TRACEAGENT_SAMPLER_KEEP_MAX_BUFFERED_SPANS={_maxBuffered})"));
    }

    public void Dispose() => _sweeper.Dispose();

    private enum Decision
    {
        None,
        Keep,
    }

    /// <summary>
    /// A held trace. Nearly every one has a single local root in the process and a few spans: the
    /// first of each is kept in a field and only more make an array, so that holding a trace that
    /// is then dropped (the common case at a low ratio) costs this object and its map node.
    /// </summary>
    private sealed class Entry
    {
        public ActivityBag Roots;

        public ActivityBag EndedRoots;

        public ActivityBag Spans;

        public bool Error { get; set; }

        public bool Slow { get; set; }

        public bool Removed { get; set; }

        public Decision Decision { get; set; }

        public long OpenedAt { get; } = Stopwatch.GetTimestamp();

        public long DecidedAt { get; set; }
    }

    /// <summary>A small set of activities (by reference), the first in a field; used under the entry's lock.</summary>
    private struct ActivityBag
    {
        private Activity? _first;
        private Activity?[]? _more;
        private int _count;

        public readonly int Count => _count;

        public void Add(Activity activity)
        {
            if (_count == 0)
            {
                _first = activity;
            }
            else
            {
                _more ??= new Activity?[4];
                if (_count - 1 == _more.Length)
                {
                    Array.Resize(ref _more, _more.Length * 2);
                }

                _more[_count - 1] = activity;
            }

            _count++;
        }

        public bool Remove(Activity activity)
        {
            if (_count == 0)
            {
                return false;
            }

            if (ReferenceEquals(_first, activity))
            {
                // The last one takes the first's place.
                _first = _count > 1 ? _more![_count - 2] : null;
                if (_count > 1)
                {
                    _more![_count - 2] = null;
                }

                _count--;
                return true;
            }

            for (int i = 0; i < _count - 1; i++)
            {
                if (ReferenceEquals(_more![i], activity))
                {
                    _more[i] = _more[_count - 2];
                    _more[_count - 2] = null;
                    _count--;
                    return true;
                }
            }

            return false;
        }

        public readonly Activity this[int index] => index == 0 ? _first! : _more![index - 1]!;

        public void Clear()
        {
            _first = null;
            if (_more is not null)
            {
                Array.Clear(_more, 0, Math.Max(0, _count - 1));
            }

            _count = 0;
        }

        /// <summary>The activities, handed over: the bag is empty afterwards.</summary>
        public List<Activity> TakeAll()
        {
            var all = new List<Activity>(_count);
            for (int i = 0; i < _count; i++)
            {
                all.Add(this[i]);
            }

            _first = null;
            _more = null;
            _count = 0;
            return all;
        }
    }
}
