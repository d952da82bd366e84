using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Instrumentation;
using TraceAgent.Metrics;

namespace TraceAgent.Benchmarks;

/// <summary>
/// What one measurement costs on the app's thread once the agent's MeterListener collects it
/// (beside the same instrument that nobody listens to), and what one collection with its OTLP
/// encoding costs on the agent's thread. Measurements must not allocate.
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private static readonly Meter Collected = new("Bench.Metrics");
    private static readonly Meter Ignored = new("Bench.Ignored");
    private static readonly ActivitySource Source = new("Bench.Metrics");

    private readonly Counter<long> _counter = Collected.CreateCounter<long>("bench.requests");
    private readonly Histogram<double> _histogram = Collected.CreateHistogram<double>("bench.request.duration", "s");
    private readonly Histogram<double> _ignoredHistogram = Ignored.CreateHistogram<double>("bench.ignored.duration", "s");
    private readonly Histogram<double> _series = Collected.CreateHistogram<double>("bench.series.duration", "s");
    private MetricsPipeline? _pipeline;
    private ActivityListener? _listener;
    private Activity? _sampled;
    private OtlpMetricEncoder? _encoder;
    private ProtoWriter? _writer;
    private KeyValuePair<string, object?>[] _tags = [];

    [GlobalSetup]
    public void Setup()
    {
        var settings = AgentSettings.Load(
            new SettingsReader(new Dictionary<string, string>
            {
                ["OTEL_DOTNET_AUTO_METRICS_INSTRUMENTATION_ENABLED"] = "false",
                ["OTEL_DOTNET_AUTO_METRICS_ADDITIONAL_SOURCES"] = "Bench.Metrics",
                ["OTEL_METRIC_EXPORT_INTERVAL"] = "3600000",
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9",
            }),
            InstrumentationRegistry.Ids);
        _pipeline = MetricsPipeline.Create(settings.Metrics, [new("service.name", "bench")]);
        _pipeline!.Start();
        _encoder = new OtlpMetricEncoder([new("service.name", "bench")]);
        _writer = new ProtoWriter();

        // The attributes ASP.NET Core puts on http.server.request.duration, boxed once as it does.
        _tags =
        [
            new("http.request.method", "GET"),
            new("url.scheme", "http"),
            new("http.route", "/items/{id}"),
            new("network.protocol.version", "1.1"),
            new("http.response.status_code", (object)200),
        ];

        // A collection of a realistic size: 50 routes x 4 status codes of one histogram.
        foreach (var route in Enumerable.Range(0, 50))
        {
            foreach (var status in new object[] { 200, 201, 404, 500 })
            {
                _series.Record(0.01, new KeyValuePair<string, object?>("http.route", "/route/" + route.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("http.response.status_code", status));
            }
        }

        _listener = new ActivityListener
        {
            ShouldListenTo = s => s == Source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
        _sampled = Source.StartActivity("GET /items/{id}");
        Activity.Current = null;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sampled?.Stop();
        _listener?.Dispose();
        _pipeline?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "histogram record, 5 attributes, no listener")]
    public void NotCollected() => _ignoredHistogram.Record(0.042, _tags.AsSpan());

    [Benchmark(Description = "counter add, no attributes")]
    public void CounterAdd() => _counter.Add(1);

    [Benchmark(Description = "histogram record, 5 attributes")]
    public void HistogramRecord() => _histogram.Record(0.042, _tags.AsSpan());

    [Benchmark(Description = "histogram record, 5 attributes, in a sampled span (exemplar offered)")]
    public void HistogramRecordInSpan()
    {
        // Set per call, as the app's request would have it; setting Activity.Current costs an
        // AsyncLocal change (and its allocation) of its own, measured apart below.
        Activity.Current = _sampled;
        _histogram.Record(0.042, _tags.AsSpan());
        Activity.Current = null;
    }

    [Benchmark(Description = "setting and clearing Activity.Current alone (the line above's overhead)")]
    public void SetCurrentOnly()
    {
        Activity.Current = _sampled;
        Activity.Current = null;
    }

    [Benchmark(Description = "collection + OTLP encoding, 200 histogram points (agent thread)")]
    public int CollectAndEncode()
    {
        var batch = _pipeline!.Collect();
        _writer!.Reset();
        if (batch is not null)
        {
            _encoder!.Encode(_writer, [batch]);
        }

        return _writer.Length;
    }
}
