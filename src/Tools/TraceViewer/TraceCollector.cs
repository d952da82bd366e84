using System.Diagnostics;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Model;
using TraceAgent.Viewer.Output;
using TraceAgent.Viewer.Storage;

namespace TraceAgent.Viewer;

/// <summary>
/// Groups incoming spans and log records by trace and decides when a trace is finished: when
/// nothing for it has arrived for the quiet period (exporters batch, and services export on
/// their own schedules, so there is no other signal). A span that arrives for a trace already
/// shown reopens it (its stored spans are taken back), and it is shown and stored again once quiet.
/// </summary>
internal sealed class TraceCollector
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, PendingTrace> _pending = new(StringComparer.Ordinal);

    // Traces taken out of _pending and not yet in the store: a span arriving meanwhile must find
    // them here, or it would start a trace of its own that later replaces the stored one.
    private readonly Dictionary<string, PendingTrace> _finishing = new(StringComparer.Ordinal);
    private readonly TraceStore _store;
    private readonly TimeSpan _quiet;
    private readonly AnalysisContext _context;
    private readonly Action<ReportedTrace, int> _onFinished;
    private readonly Func<long> _clock;

    private int _finishedCount;

    public TraceCollector(TimeSpan quiet, AnalysisContext context, TraceStore store, Action<ReportedTrace, int> onFinished, Func<long>? clock = null)
    {
        _quiet = quiet;
        _store = store;
        _onFinished = onFinished;
        _clock = clock ?? Stopwatch.GetTimestamp;
        _context = new AnalysisContext
        {
            NPlusOneThreshold = context.NPlusOneThreshold,
            FanOutThreshold = context.FanOutThreshold,
            SlowestCount = context.SlowestCount,
            IsLinkedFromElsewhere = IsLinked,
        };
    }

    /// <summary>Traces finished since start (a reopened one counts once).</summary>
    public int FinishedCount => Volatile.Read(ref _finishedCount);

    public void AddSpans(IReadOnlyList<ReceivedSpan> spans)
    {
        long now = _clock();
        lock (_lock)
        {
            foreach (ReceivedSpan span in spans)
            {
                if (span.TraceId.Length == 0)
                {
                    continue;
                }

                PendingTrace pending = Open(span.TraceId, now);
                pending.Spans.Add(span);
                pending.NewSpans++;
            }
        }
    }

    public void AddLogs(IReadOnlyList<ReceivedLogRecord> logs)
    {
        long now = _clock();
        lock (_lock)
        {
            foreach (ReceivedLogRecord log in logs)
            {
                // A log record outside any trace has no tree to hang from.
                if (log.TraceId.Length > 0)
                {
                    Open(log.TraceId, now).Logs.Add(log);
                }
            }
        }
    }

    /// <summary>Finishes the traces that have been quiet long enough; with <paramref name="all"/>, every open trace.</summary>
    public void FinishQuiet(bool all = false)
    {
        var ready = new List<(PendingTrace Trace, int Late)>();
        long now = _clock();
        lock (_lock)
        {
            foreach (PendingTrace pending in _pending.Values)
            {
                if (all || Stopwatch.GetElapsedTime(pending.LastArrival, now) >= _quiet)
                {
                    ready.Add((pending, pending.WasShown ? pending.NewSpans : 0));
                }
            }

            foreach ((PendingTrace pending, _) in ready)
            {
                _pending.Remove(pending.TraceId);
                _finishing[pending.TraceId] = pending;
            }
        }

        var finished = new List<(ReportedTrace Reported, PendingTrace Pending, int Late)>(ready.Count);
        foreach ((PendingTrace pending, int late) in ready.OrderBy(r => r.Trace.FirstArrival))
        {
            TraceTree tree = TraceTree.Build(pending.TraceId, pending.Spans, pending.Logs);
            IReadOnlyList<Finding> findings = TraceAnalyzer.Analyze(tree, _context);
            var reported = new ReportedTrace(tree, findings, Complete: !all || Stopwatch.GetElapsedTime(pending.LastArrival, now) >= _quiet);
            finished.Add((reported, pending, late));
            if (!pending.WasShown)
            {
                Interlocked.Increment(ref _finishedCount);
            }
        }

        _store.PutAll([.. finished.Select(f => f.Reported)]);
        lock (_lock)
        {
            foreach ((_, PendingTrace pending, _) in finished)
            {
                _finishing.Remove(pending.TraceId);
            }
        }

        foreach ((ReportedTrace reported, PendingTrace pending, int late) in finished)
        {
            // Only log records arrived since it was shown: keep them for the report, do not repeat the tree.
            bool print = !pending.WasShown || pending.NewSpans > 0;
            _onFinished(reported, print ? Math.Max(late, 0) : -1);
        }
    }

    private bool IsLinked(string spanId)
    {
        if (_store.IsLinked(spanId))
        {
            return true;
        }

        lock (_lock)
        {
            return _pending.Values.Any(p => p.Spans.Any(s => s.Links.Any(l => l.SpanId == spanId)));
        }
    }

    private PendingTrace Open(string traceId, long now)
    {
        if (!_pending.TryGetValue(traceId, out PendingTrace? pending))
        {
            pending = new PendingTrace(traceId, now);
            if (_finishing.TryGetValue(traceId, out PendingTrace? finishing))
            {
                pending.Spans.AddRange(finishing.Spans);
                pending.Logs.AddRange(finishing.Logs);
                pending.WasShown = true;
            }
            else if (_store.Get(traceId) is StoredTrace stored)
            {
                pending.Spans.AddRange(stored.Spans);
                pending.Logs.AddRange(stored.Logs);
                pending.WasShown = true;
            }

            _pending[traceId] = pending;
        }

        pending.LastArrival = now;
        return pending;
    }

    private sealed class PendingTrace(string traceId, long firstArrival)
    {
        public string TraceId { get; } = traceId;

        public long FirstArrival { get; } = firstArrival;

        public long LastArrival { get; set; } = firstArrival;

        public List<ReceivedSpan> Spans { get; } = [];

        public List<ReceivedLogRecord> Logs { get; } = [];

        public int NewSpans { get; set; }

        public bool WasShown { get; set; }
    }
}
