using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;

namespace TraceAgent.Export;

/// <summary>
/// Queues finished items (spans, log records; bounded: a full queue drops, it never blocks the app)
/// and exports them in batches from one background thread, as the OpenTelemetry batch span and
/// log record processor specifications say.
/// </summary>
internal class BatchExportProcessor<T> : IExportCounters, IDisposable
    where T : class
{
    private readonly ConcurrentQueue<T> _queue = new();
    private readonly IReadOnlyList<IExporter<T>> _exporters;
    private readonly string _items;
    private readonly BatchSettings _settings;
    private readonly int _exportTimeoutMilliseconds;
    private readonly AutoResetEvent _wake = new(false);
    private readonly ManualResetEventSlim _flushed = new(false);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Thread _thread;
    private readonly List<T> _batch;
    private int _count;
    private long _dropped;
    private long _exported;
    private long _failed;
    private long _lastReportedLoss;
    private long _lastReportTick = long.MinValue / 2;
    private volatile bool _stopping;
    private long _flushRequests;
    private long _flushesDone;

    /// <param name="items">What is queued, plural, for log lines ("spans", "log records").</param>
    public BatchExportProcessor(IReadOnlyList<IExporter<T>> exporters, BatchSettings settings, int exportTimeoutMilliseconds, string items, string threadName)
    {
        _exporters = exporters;
        _items = items;
        _settings = settings;
        _exportTimeoutMilliseconds = Math.Min(exportTimeoutMilliseconds, settings.ExportTimeoutMilliseconds);
        _batch = new List<T>(settings.MaxExportBatchSize);
        _thread = new Thread(Run) { IsBackground = true, Name = threadName };
        _thread.Start();
    }

    public long DroppedCount => Interlocked.Read(ref _dropped);

    public long ExportedCount => Interlocked.Read(ref _exported);

    public long FailedCount => Interlocked.Read(ref _failed);

    /// <summary>Items waiting in the queue now (the agent's own metrics observe it).</summary>
    public int QueuedCount => Math.Max(0, Volatile.Read(ref _count));

    /// <summary>
    /// Queues an item, or drops and counts it when the queue is full or the processor stopped;
    /// false when dropped.
    /// </summary>
    public bool Add(T item)
    {
        if (_stopping)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }

        var count = Interlocked.Increment(ref _count);
        if (count > _settings.MaxQueueSize)
        {
            Interlocked.Decrement(ref _count);
            Interlocked.Increment(ref _dropped);
            return false;
        }

        _queue.Enqueue(item);
        if (count == _settings.MaxExportBatchSize)
        {
            _wake.Set();
        }

        return true;
    }

    /// <summary>The batch's items after every exporter had them (export thread): a subclass may reuse them.</summary>
    protected virtual void OnExported(List<T> batch)
    {
    }

    /// <summary>Exports what is queued now; returns false if that did not finish within the timeout.</summary>
    public bool ForceFlush(int timeoutMilliseconds)
    {
        _flushed.Reset();
        var target = Interlocked.Increment(ref _flushRequests);
        _wake.Set();
        var deadline = Environment.TickCount64 + timeoutMilliseconds;
        while (Interlocked.Read(ref _flushesDone) < target)
        {
            var left = deadline - Environment.TickCount64;
            if (left <= 0 || !_thread.IsAlive)
            {
                return false;
            }

            _flushed.Wait((int)Math.Min(left, 50));
        }

        return true;
    }

    /// <summary>Flushes within the timeout, then stops; an export still running is cancelled.</summary>
    public void Shutdown(int timeoutMilliseconds)
    {
        var flushed = ForceFlush(timeoutMilliseconds);
        _stopping = true;
        _shutdown.Cancel();
        _wake.Set();
        _thread.Join(Math.Min(timeoutMilliseconds, 500));
        ReportLoss(final: true);
        if (!flushed)
        {
            AgentLog.Warning(string.Create(CultureInfo.InvariantCulture, $"{_items} still queued at exit were not all exported within {timeoutMilliseconds} ms"));
        }
    }

    private void Run()
    {
        var nextExport = Environment.TickCount64 + _settings.ScheduleDelayMilliseconds;
        while (!_stopping)
        {
            try
            {
                var wait = nextExport - Environment.TickCount64;
                if (wait > 0 && Volatile.Read(ref _count) < _settings.MaxExportBatchSize && Interlocked.Read(ref _flushRequests) == Interlocked.Read(ref _flushesDone))
                {
                    _wake.WaitOne((int)Math.Min(wait, int.MaxValue));
                }

                if (_stopping)
                {
                    break;
                }

                var flushTarget = Interlocked.Read(ref _flushRequests);
                ExportQueued(drainAll: flushTarget != Interlocked.Read(ref _flushesDone) || Environment.TickCount64 >= nextExport);
                if (Environment.TickCount64 >= nextExport)
                {
                    nextExport = Environment.TickCount64 + _settings.ScheduleDelayMilliseconds;
                }

                if (flushTarget != Interlocked.Read(ref _flushesDone))
                {
                    Interlocked.Exchange(ref _flushesDone, flushTarget);
                    _flushed.Set();
                }

                ReportLoss(final: false);
            }
            catch (Exception ex)
            {
                AgentFaults.Report("batch export loop", ex);
            }
        }
    }

    private void ExportQueued(bool drainAll)
    {
        while (true)
        {
            _batch.Clear();
            while (_batch.Count < _settings.MaxExportBatchSize && _queue.TryDequeue(out var item))
            {
                _batch.Add(item);
            }

            if (_batch.Count == 0)
            {
                return;
            }

            // Once per batch, not per item: every decrement is a write to the line each Add
            // increments, from another core.
            Interlocked.Add(ref _count, -_batch.Count);

            var deadline = DateTime.UtcNow.AddMilliseconds(_exportTimeoutMilliseconds);
            foreach (var exporter in _exporters)
            {
                var result = Exporters.Export(exporter, _batch, deadline, _shutdown.Token);
                var lost = result.LostOf(_batch.Count);
                Interlocked.Add(ref _exported, _batch.Count - lost);
                Interlocked.Add(ref _failed, lost);
            }

            OnExported(_batch);
            _batch.Clear();

            // Under sustained load into a failing collector this loop may not return for long:
            // the loss summary (itself limited to one line per 10 s) must not wait for it.
            ReportLoss(final: false);
            if (!drainAll && Volatile.Read(ref _count) < _settings.MaxExportBatchSize)
            {
                return;
            }
        }
    }

    private void ReportLoss(bool final)
    {
        var lost = DroppedCount + FailedCount;
        if (lost == _lastReportedLoss || (!final && Environment.TickCount64 - _lastReportTick < 10_000))
        {
            return;
        }

        LogLoss(lost);
    }

    // Out of line: ReportLoss runs after every batch, and the message's formatting would make it
    // the larger part of the export loop the JIT compiles again as it gets hot.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LogLoss(long lost)
    {
        _lastReportTick = Environment.TickCount64;
        _lastReportedLoss = lost;
        AgentLog.Warning(string.Create(
            CultureInfo.InvariantCulture,
            $"{_items} lost so far: {DroppedCount} dropped (queue full, limit {_settings.MaxQueueSize}), {FailedCount} not accepted by the exporter; {ExportedCount} exported"));
    }

    public void Dispose()
    {
        _shutdown.Dispose();
        _wake.Dispose();
        _flushed.Dispose();
        foreach (var exporter in _exporters)
        {
            exporter.Dispose();
        }
    }
}
