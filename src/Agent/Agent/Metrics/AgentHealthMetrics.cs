using System.Diagnostics;
using System.Diagnostics.Metrics;
using TraceAgent.Export;
using TraceAgent.Resources;

namespace TraceAgent.Metrics;

/// <summary>
/// The agent's own health as metrics (meter "TraceAgent", names under traceagent.): for spans and
/// log records, how many wait in the queue, were exported, were dropped because the queue was full,
/// and were rejected (not accepted by the exporter: refused, failed or timed out after retries);
/// the same for metric points; and how long each export took. They read the pipelines' own
/// counters, the ones the loss lines in the agent's log report.
/// </summary>
internal sealed class AgentHealthMetrics : IDisposable
{
    public const string MeterName = "TraceAgent";

    private readonly Meter _meter;
    private readonly Histogram<double> _exportDuration;
    private readonly List<Action> _observers = [];
    private bool _active;

    public AgentHealthMetrics()
    {
        _meter = new Meter(MeterName, ResourceBuilder.AgentVersion);
        _exportDuration = _meter.CreateHistogram<double>("traceagent.export.duration", "s", "Duration of one export call (all its attempts), by signal and outcome.");
    }

    /// <summary>Observes a batch processor's counters; <paramref name="items"/> names them ("spans", "log_records").</summary>
    public void Observe(IExportCounters processor, string items, string unit) => Add(() =>
    {
        _meter.CreateObservableUpDownCounter($"traceagent.{items}.queued", () => (long)processor.QueuedCount, unit, "Items waiting in the export queue now.");
        _meter.CreateObservableCounter($"traceagent.{items}.exported", () => processor.ExportedCount, unit, "Items the exporter accepted.");
        _meter.CreateObservableCounter($"traceagent.{items}.dropped", () => processor.DroppedCount, unit, "Items dropped because the export queue was full.");
        _meter.CreateObservableCounter($"traceagent.{items}.rejected", () => processor.FailedCount, unit, "Items lost in export: refused by the collector, or failed or timed out after the retries.");
    });

    public void Observe(MetricsPipeline metrics) => Add(() =>
    {
        _meter.CreateObservableCounter("traceagent.metric_points.exported", () => metrics.ExportedPoints, "{data_point}", "Metric data points the exporter accepted.");
        _meter.CreateObservableCounter("traceagent.metric_points.rejected", () => metrics.FailedPoints, "{data_point}", "Metric data points lost in export: refused by the collector, or failed or timed out after the retries.");
    });

    /// <summary>Creates the observable instruments asked for so far, and from now on at once; metrics thread.</summary>
    public void Activate()
    {
        Action[] pending;
        lock (_observers)
        {
            _active = true;
            pending = [.. _observers];
            _observers.Clear();
        }

        foreach (var create in pending)
        {
            create();
        }
    }

    // Observable instruments are read only at a collection: they are made on the metrics thread,
    // off the app's start-up path.
    private void Add(Action create)
    {
        lock (_observers)
        {
            if (!_active)
            {
                _observers.Add(create);
                return;
            }
        }

        create();
    }

    /// <summary>Wraps exporters so each export's duration and outcome is recorded.</summary>
    public List<IExporter<T>> Measure<T>(IEnumerable<IExporter<T>> exporters, string signal) =>
        exporters.Select(e => (IExporter<T>)new MeasuredExporter<T>(e, _exportDuration, signal)).ToList();

    public void Dispose() => _meter.Dispose();

    private sealed class MeasuredExporter<T> : IExporter<T>
    {
        private readonly IExporter<T> _inner;
        private readonly Histogram<double> _duration;
        private readonly KeyValuePair<string, object?> _signal;

        public MeasuredExporter(IExporter<T> inner, Histogram<double> duration, string signal)
        {
            _inner = inner;
            _duration = duration;
            _signal = new("traceagent.signal", signal);
        }

        public string Description => _inner.Description;

        public ExportResult Export(IReadOnlyList<T> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            var result = ExportResult.Failure;
            try
            {
                result = _inner.Export(batch, deadlineUtc, cancellationToken);
                return result;
            }
            finally
            {
                _duration.Record(
                    Stopwatch.GetElapsedTime(started).TotalSeconds,
                    _signal,
                    new KeyValuePair<string, object?>("traceagent.outcome", result == ExportResult.Success ? "success" : "failure"));
            }
        }

        public void Dispose() => _inner.Dispose();
    }
}
