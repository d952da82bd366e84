using System.Diagnostics.Metrics;
using System.Globalization;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Instrumentation;
using TraceAgent.Tracing;

namespace TraceAgent.Metrics;

/// <summary>
/// The periodic metric reader: every OTEL_METRIC_EXPORT_INTERVAL it runs the observable
/// instruments, collects every stream and hands the collection to the exporters (OTLP over HTTP or
/// gRPC, with the same retries as spans; or the console), on its own background thread. Failed
/// exports are counted and logged like lost spans; at exit, one last collection is exported.
/// </summary>
internal sealed class MetricsPipeline : IDirectSpanObserver, IDisposable
{
    private readonly MetricsSettings _settings;
    private readonly MetricRegistry _registry;
    private readonly MeterCollector _collector;
    private readonly IReadOnlyList<IExporter<MetricsBatch>> _exporters;
    private readonly bool _redis;
    private readonly bool _kafka;
    private readonly bool _net8Runtime;
    private readonly object _collectGate = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Thread _thread;
    private readonly ulong _start;
    private readonly MetricsBatch[] _batch = new MetricsBatch[1];
    private ulong _previousCollection;
    private long _exportedPoints;
    private long _failedPoints;
    private long _lastReportedLoss;
    private long _lastReportTick = long.MinValue / 2;
    private volatile bool _stopping;
    private volatile SpanMetrics? _spanMetrics;
    private Meter? _runtimeMeter;

    private MetricsPipeline(MetricsSettings settings, MetricRegistry registry, MeterCollector collector, IReadOnlyList<IExporter<MetricsBatch>> exporters, AgentHealthMetrics health, bool redis, bool kafka, bool net8Runtime)
    {
        _settings = settings;
        _registry = registry;
        _collector = collector;
        _exporters = exporters;
        _redis = redis;
        _kafka = kafka;
        _net8Runtime = net8Runtime;
        Health = health;
        _start = MetricClock.NowUnixNano();
        _previousCollection = _start;
        _thread = new Thread(Run) { IsBackground = true, Name = "traceagent-metrics" };
    }

    public AgentHealthMetrics Health { get; }

    /// <summary>The sources whose spans the metrics measure (SpanMetrics): each operation counts, sampled or not.</summary>
    public IReadOnlyList<string> MeasuredSources
    {
        get
        {
            var sources = new List<string>(2);
            if (_redis)
            {
                sources.Add(InstrumentationRegistry.RedisSource);
            }

            if (_kafka)
            {
                sources.Add(InstrumentationRegistry.KafkaSource);
            }

            return sources;
        }
    }

    public long ExportedPoints => Interlocked.Read(ref _exportedPoints);

    public long FailedPoints => Interlocked.Read(ref _failedPoints);

    /// <summary>For the start-up summary: where metrics go and what is collected.</summary>
    public string Description { get; private set; } = string.Empty;

    /// <summary>The pipeline OTEL_METRICS_EXPORTER and the metrics switches ask for; null when metrics are not exported.</summary>
    public static MetricsPipeline? Create(MetricsSettings settings, IReadOnlyList<KeyValuePair<string, object>> resource)
    {
        if (!settings.Exported)
        {
            return null;
        }

        try
        {
            return CreateCore(settings, resource);
        }
        catch (Exception ex)
        {
            // Metrics that cannot start must not take tracing down with them.
            AgentLog.Warning($"metrics are off: they could not start: {ex.GetType().Name}: {ex.Message}");
            return null;
        }
    }

    private static MetricsPipeline CreateCore(MetricsSettings settings, IReadOnlyList<KeyValuePair<string, object>> resource)
    {
        var registry = new MetricRegistry(settings);
        var enabled = MetricsInstrumentations.All.Where(i => settings.IsInstrumentationEnabled(i.Id)).ToList();
        var meters = enabled.SelectMany(i => i.Meters).Concat(settings.AdditionalSources).Append(AgentHealthMetrics.MeterName);
        var collector = new MeterCollector(registry, new SourceMatcher(meters));
        var net8Runtime = enabled.Any(i => i.Id == "NETRUNTIME") && Net8RuntimeMeter.Needed;

        var health = new AgentHealthMetrics();
        var exporters = new List<IExporter<MetricsBatch>>();
        foreach (var name in settings.Exporters)
        {
            switch (name)
            {
                case "otlp":
                    if (Loading.ExporterFactory.TryLoadTls(settings.Otlp, "metrics", out var tls))
                    {
                        var encoder = new OtlpMetricEncoder(resource);
                        exporters.Add(new OtlpExporter<MetricsBatch>(settings.Otlp, encoder.Encode, "metrics", tls));
                    }

                    break;
                case "console":
                    exporters.Add(new ConsoleMetricExporter());
                    break;
            }
        }

        var pipeline = new MetricsPipeline(settings, registry, collector, health.Measure(exporters, "metrics"), health, enabled.Any(i => i.Id == "STACKEXCHANGEREDIS"), enabled.Any(i => i.Id == "KAFKA"), net8Runtime);
        health.Observe(pipeline);
        pipeline.Description = string.Join(", ", exporters.Select(e => e.Description))
            + " (" + settings.Describe() + "; " + string.Join(", ", enabled.Select(i => i.Id + (i.Id == "NETRUNTIME" && net8Runtime ? " (agent's own System.Runtime meter on .NET 8)" : string.Empty)))
            + (settings.AdditionalSources.Count > 0 ? "; additional meters: " + string.Join(",", settings.AdditionalSources) : string.Empty) + ")";
        return pipeline;
    }

    /// <summary>
    /// Starts the listener now, so no measurement of the app's is missed, and everything else on the
    /// metrics thread, off the app's start-up path (see StartDeferred).
    /// </summary>
    public void Start()
    {
        try
        {
            _collector.Start();
            _thread.Start();
        }
        catch (Exception ex)
        {
            AgentFaults.Report("metrics start", ex);
        }
    }

    /// <summary>Collects and exports now; false if that did not finish within the timeout.</summary>
    public bool ForceFlush(int timeoutMilliseconds)
    {
        // One budget for waiting and exporting: at exit, a flush started by SIGTERM may still hold
        // the gate (a hanging collector), and the exit must not then wait a second full timeout.
        var started = Environment.TickCount64;
        if (!Monitor.TryEnter(_collectGate, timeoutMilliseconds))
        {
            return false;
        }

        try
        {
            var left = timeoutMilliseconds - (int)(Environment.TickCount64 - started);
            if (left <= 0)
            {
                return false;
            }

            CollectAndExport(Math.Min(left, _settings.ExportTimeoutMilliseconds));
            return true;
        }
        finally
        {
            Monitor.Exit(_collectGate);
        }
    }

    /// <summary>Exports a last collection within the timeout, then stops; an export still running is cancelled.</summary>
    public void Shutdown(int timeoutMilliseconds)
    {
        _stopping = true;
        _wake.Set();
        var flushed = ForceFlush(timeoutMilliseconds);
        _shutdown.Cancel();
        _thread.Join(Math.Min(timeoutMilliseconds, 500));
        ReportLoss(final: true);
        if (!flushed)
        {
            AgentLog.Warning(string.Create(CultureInfo.InvariantCulture, $"metrics: the last collection was not exported within {timeoutMilliseconds} ms"));
        }
    }

    /// <summary>Spans written with no Activity, measured once the span-derived metrics have started.</summary>
    public void OnEnd(in DirectSpan span, ulong spanId) => _spanMetrics?.OnEnd(span, spanId);

    /// <summary>
    /// What can wait a few milliseconds: the span-derived metrics (Redis and Kafka connect later
    /// anyway), the .NET 8 runtime meter and the health meter's observers (both only read at a
    /// collection). Done on the metrics thread: about as much start-up work again as the listener.
    /// </summary>
    private void StartDeferred()
    {
        try
        {
            var spanMetrics = new SpanMetrics(_registry, _redis, _kafka);
            spanMetrics.Start();
            _spanMetrics = spanMetrics;
            if (_net8Runtime)
            {
                _runtimeMeter = Net8RuntimeMeter.Create();
            }

            Health.Activate();
        }
        catch (Exception ex)
        {
            AgentFaults.Report("metrics start", ex);
        }
    }

    private void Run()
    {
        StartDeferred();
        while (!_stopping)
        {
            try
            {
                _wake.WaitOne(_settings.ExportIntervalMilliseconds);
                if (_stopping)
                {
                    break;
                }

                lock (_collectGate)
                {
                    CollectAndExport(_settings.ExportTimeoutMilliseconds);
                }
            }
            catch (Exception ex)
            {
                AgentFaults.Report("metrics collection", ex);
            }
        }
    }

    /// <summary>Runs the observable instruments and collects every stream; null when there is nothing to export.</summary>
    internal MetricsBatch? Collect()
    {
        var epoch = _registry.NextEpoch();
        _collector.RecordObservables();
        var now = MetricClock.NowUnixNano();
        var streams = _registry.Streams;
        var points = 0;
        foreach (var stream in streams)
        {
            points += stream.Collect(epoch, _start, _previousCollection);
        }

        _previousCollection = now;
        _registry.RemoveCompleted();
        return points == 0 ? null : new MetricsBatch(streams, epoch, now, points);
    }

    private void CollectAndExport(int timeoutMilliseconds)
    {
        if (Collect() is not { } collected)
        {
            return;
        }

        var points = collected.Points;
        _batch[0] = collected;
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMilliseconds);
        foreach (var exporter in _exporters)
        {
            // A partial success loses the points the collector rejected (its rejected_data_points),
            // not the collection: counted as the span processor counts spans.
            var lost = Exporters.Export(exporter, _batch, deadline, _shutdown.Token).LostOf(points);
            Interlocked.Add(ref _exportedPoints, points - lost);
            Interlocked.Add(ref _failedPoints, lost);
        }

        ReportLoss(final: false);
    }

    private void ReportLoss(bool final)
    {
        var lost = FailedPoints;
        if (lost == _lastReportedLoss || (!final && Environment.TickCount64 - _lastReportTick < 10_000))
        {
            return;
        }

        _lastReportTick = Environment.TickCount64;
        _lastReportedLoss = lost;
        var what = _settings.Temporality == TemporalityPreference.Cumulative
            ? "cumulative points: the next accepted export carries their totals"
            : "delta points: those intervals' measurements are lost";
        AgentLog.Warning(string.Create(CultureInfo.InvariantCulture, $"metric points lost so far: {lost} not accepted by the exporter ({what}); {ExportedPoints} exported"));
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        if (_thread.IsAlive)
        {
            _thread.Join(1000);
        }

        _collector.Dispose();
        _spanMetrics?.Dispose();
        _runtimeMeter?.Dispose();
        Health.Dispose();
        foreach (var exporter in _exporters)
        {
            exporter.Dispose();
        }

        _shutdown.Dispose();
        _wake.Dispose();
    }
}
