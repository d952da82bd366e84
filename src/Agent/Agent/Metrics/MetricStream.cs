using System.Diagnostics;
using TraceAgent.Configuration;

namespace TraceAgent.Metrics;

internal enum InstrumentKind
{
    Counter,
    UpDownCounter,
    Histogram,
    Gauge,
    ObservableCounter,
    ObservableUpDownCounter,
    ObservableGauge,
}

/// <summary>What an instrument's points are exported as.</summary>
internal enum MetricDataKind
{
    Sum,
    Gauge,
    Histogram,
}

/// <summary>
/// One exported metric: an instrument's identity, its aggregation (sum, last value or
/// explicit-bucket histogram, as the specification's defaults say for its kind), its temporality,
/// and its points, one per set of attributes.
/// </summary>
internal sealed class MetricStream
{
    /// <summary>The default explicit bucket boundaries of the specification.</summary>
    public static readonly double[] DefaultBounds = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    /// <summary>
    /// The boundaries the semantic conventions advise for durations in seconds
    /// (http.server.request.duration and the like); used for a histogram in "s" that advises none,
    /// as every instrument does on .NET 8, where the advice API does not exist.
    /// </summary>
    public static readonly double[] SecondsBounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private readonly SeriesTable _series;
    private readonly MetricRegistry _registry;
    private readonly ExemplarFilter _exemplarFilter;

    public MetricStream(
        MetricRegistry registry,
        string scopeName,
        string? scopeVersion,
        string name,
        string? unit,
        string? description,
        InstrumentKind kind,
        bool isInteger,
        double[]? adviceBounds,
        TemporalityPreference temporality,
        ExemplarFilter exemplarFilter,
        int cardinalityLimit)
    {
        _registry = registry;
        ScopeName = scopeName;
        ScopeVersion = scopeVersion;
        Name = name;
        Unit = unit ?? string.Empty;
        Description = description ?? string.Empty;
        Kind = kind;
        IsInteger = isInteger && kind != InstrumentKind.Histogram;
        DataKind = kind switch
        {
            InstrumentKind.Histogram => MetricDataKind.Histogram,
            InstrumentKind.Gauge or InstrumentKind.ObservableGauge => MetricDataKind.Gauge,
            _ => MetricDataKind.Sum,
        };
        IsMonotonic = kind is InstrumentKind.Counter or InstrumentKind.ObservableCounter;
        Delta = DataKind != MetricDataKind.Gauge && (temporality, kind) switch
        {
            (TemporalityPreference.Delta, InstrumentKind.Counter or InstrumentKind.ObservableCounter or InstrumentKind.Histogram) => true,
            (TemporalityPreference.LowMemory, InstrumentKind.Counter or InstrumentKind.Histogram) => true,
            _ => false,
        };
        Bounds = DataKind == MetricDataKind.Histogram
            ? adviceBounds ?? (Unit == "s" ? SecondsBounds : DefaultBounds)
            : [];
        _exemplarFilter = exemplarFilter;
        var buckets = DataKind == MetricDataKind.Histogram ? Bounds.Length + 1 : 0;
        var exemplars = buckets > 0 && exemplarFilter != ExemplarFilter.AlwaysOff;
        _series = new SeriesTable(cardinalityLimit, attributes => new MetricPoint(attributes, buckets, exemplars));
    }

    public string ScopeName { get; }

    public string? ScopeVersion { get; }

    public string Name { get; }

    public string Unit { get; }

    public string Description { get; }

    public InstrumentKind Kind { get; }

    public MetricDataKind DataKind { get; }

    /// <summary>Integer points (as_int) rather than double ones.</summary>
    public bool IsInteger { get; }

    public bool IsMonotonic { get; }

    /// <summary>Delta temporality (else cumulative); gauges have none.</summary>
    public bool Delta { get; }

    public double[] Bounds { get; }

    /// <summary>Set when every instrument behind it is gone; the stream is exported once more, then dropped.</summary>
    public bool Completed { get; private set; }

    private int _instruments;

    /// <summary>An instrument now records into this stream (two meters of one name may share it).</summary>
    public void Attach() => Interlocked.Increment(ref _instruments);

    /// <summary>An instrument behind this stream is gone; the stream completes with the last one.</summary>
    public void Detach()
    {
        if (Interlocked.Decrement(ref _instruments) <= 0)
        {
            Completed = true;
        }
    }

    /// <summary>The number of points exported in the last collection.</summary>
    public int CollectedCount { get; private set; }

    public SeriesTable Series => _series;

    public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        switch (Kind)
        {
            case InstrumentKind.Counter:
            case InstrumentKind.UpDownCounter:
                _series.Find(tags).Add(value);
                break;
            case InstrumentKind.Gauge:
                _series.Find(tags).Set(value);
                break;
            case InstrumentKind.Histogram:
                Record((double)value, tags);
                break;
            default:
                _series.Find(tags).Observe(value, _registry.Epoch);
                break;
        }
    }

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (double.IsNaN(value))
        {
            return;
        }

        if (IsInteger)
        {
            Record((long)value, tags);
            return;
        }

        switch (Kind)
        {
            case InstrumentKind.Counter:
            case InstrumentKind.UpDownCounter:
                _series.Find(tags).Add(value);
                break;
            case InstrumentKind.Gauge:
                _series.Find(tags).Set(value);
                break;
            case InstrumentKind.Histogram:
                var activity = _exemplarFilter == ExemplarFilter.AlwaysOff ? null : Activity.Current;
                RecordHistogram(value, tags, activity);
                break;
            default:
                _series.Find(tags).Observe(value, _registry.Epoch);
                break;
        }
    }

    /// <summary>A histogram measurement whose exemplar, if the filter lets it be one, points at <paramref name="span"/>.</summary>
    public void RecordHistogram(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, in ExemplarSpan span)
    {
        if (double.IsNaN(value))
        {
            return;
        }

        var offer = _exemplarFilter switch
        {
            ExemplarFilter.AlwaysOn => true,
            ExemplarFilter.TraceBased => !span.IsNone && span.Sampled,
            _ => false,
        };
        _series.Find(tags).RecordHistogram(value, Bounds, offer, offer ? span : default);
    }

    /// <summary>Copies every point to export in collection <paramref name="epoch"/>; collector thread only.</summary>
    public int Collect(long epoch, ulong cumulativeStart, ulong previousCollection)
    {
        var points = _series.Points(out var count);
        var exported = 0;
        for (var i = 0; i < count; i++)
        {
            var point = points[i];
            var include = Kind switch
            {
                InstrumentKind.Counter or InstrumentKind.UpDownCounter => point.CollectSum(Delta, IsInteger),
                InstrumentKind.Gauge => point.CollectLastValue(Delta, IsInteger),
                InstrumentKind.Histogram => point.CollectHistogram(Delta),
                _ => point.CollectObserved(epoch, Delta, IsInteger),
            };
            if (!include)
            {
                continue;
            }

            point.CollectedEpoch = epoch;
            point.CollectedStartTime = Delta ? previousCollection : cumulativeStart;
            exported++;
        }

        CollectedCount = exported;
        return exported;
    }
}
