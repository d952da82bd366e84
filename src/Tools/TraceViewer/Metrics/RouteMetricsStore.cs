using System.Globalization;
using System.Text;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.Viewer.Metrics;

/// <summary>
/// The HTTP server request durations the viewer has received (<c>http.server.request.duration</c>),
/// kept per series (one resource, route, method, status code and error type) so that any recent
/// window can be asked for: each point is kept as a running total (delta points are added up as they
/// arrive), and the requests of a window are the latest total minus the total at the window's start.
/// Bounded: at most <see cref="MaxSeries"/> series, for <see cref="Retention"/>; points every
/// <see cref="FineSpacing"/> for the last <see cref="FineAge"/>, every <see cref="CoarseSpacing"/>
/// before that; at most <see cref="ExemplarsPerBucket"/> exemplars per bucket of a series.
/// </summary>
internal sealed class RouteMetricsStore
{
    public const string DurationMetric = "http.server.request.duration";
    public const int MaxSeries = 1000;
    public const int ExemplarsPerBucket = 2;
    public const int ExemplarsPerRoute = 10;
    public static readonly TimeSpan Retention = TimeSpan.FromHours(1);
    public static readonly TimeSpan FineAge = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan FineSpacing = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan CoarseSpacing = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _droppedSeries;

    public RouteMetricsStore(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
    }

    public int SeriesCount
    {
        get
        {
            lock (_lock)
            {
                return _series.Count;
            }
        }
    }

    /// <summary>Running totals kept, over all series.</summary>
    public int PointCount
    {
        get
        {
            lock (_lock)
            {
                return _series.Values.Sum(s => s.Points.Count);
            }
        }
    }

    /// <summary>Series not kept because <see cref="MaxSeries"/> were kept already.</summary>
    public long DroppedSeries => Interlocked.Read(ref _droppedSeries);

    public void Add(IReadOnlyList<ReceivedMetric> metrics)
    {
        foreach (ReceivedMetric metric in metrics)
        {
            if (metric.Name != DurationMetric || metric.Metric.DataCase != Metric.DataOneofCase.Histogram)
            {
                continue;
            }

            Histogram histogram = metric.Metric.Histogram;
            bool delta = histogram.AggregationTemporality == AggregationTemporality.Delta;

            // The stable convention's unit is seconds; an instrument in milliseconds is scaled.
            double scale = metric.Metric.Unit == "ms" ? 0.001 : 1;
            string resource = metric.Resource is null ? "" : AttributesKey(metric.Resource.Attributes);
            foreach (HistogramDataPoint point in histogram.DataPoints)
            {
                if (point.BucketCounts.Count != point.ExplicitBounds.Count + 1)
                {
                    continue;
                }

                // A cumulative series that starts again (the app restarted) is a new series, so that
                // the totals of one run are never subtracted from another's.
                var key = new StringBuilder();
                key.Append(metric.ServiceName).Append('\n').Append(resource).Append('\n').Append(metric.ScopeName).Append('\n')
                    .Append(AttributesKey(point.Attributes)).Append('\n').Append(string.Join(",", point.ExplicitBounds.Select(b => b.ToString("R", CultureInfo.InvariantCulture))))
                    .Append('\n').Append(delta ? "delta" : point.StartTimeUnixNano.ToString(CultureInfo.InvariantCulture));
                lock (_lock)
                {
                    if (!_series.TryGetValue(key.ToString(), out Series? series))
                    {
                        if (_series.Count >= MaxSeries)
                        {
                            _droppedSeries++;
                            continue;
                        }

                        series = new Series(metric.ServiceName.Length == 0 ? "unknown_service" : metric.ServiceName, point, scale);
                        _series[key.ToString()] = series;
                    }

                    series.Add(point, delta, scale);
                }
            }
        }
    }

    /// <summary>Drops what is older than <see cref="Retention"/> and thins points older than <see cref="FineAge"/>.</summary>
    public void Prune()
    {
        long now = UnixNano(_time.GetUtcNow());
        long retained = now - Nanos(Retention);
        long fine = now - Nanos(FineAge);
        lock (_lock)
        {
            foreach ((string key, Series series) in _series.ToList())
            {
                if (series.Points[^1].TimeUnixNano < retained)
                {
                    _series.Remove(key);
                    continue;
                }

                series.Prune(retained, fine);
            }
        }
    }

    /// <summary>Per service and route, what was received for the window that ends now.</summary>
    public RouteMetricsReport Query(TimeSpan window)
    {
        long to = UnixNano(_time.GetUtcNow());
        long from = to - Nanos(window);
        var routes = new Dictionary<(string Service, string Route, string Method), RouteTotals>();
        int count;
        lock (_lock)
        {
            count = _series.Count;
            foreach (Series series in _series.Values)
            {
                if (series.Increase(from) is not (ulong requests, ulong[] buckets))
                {
                    continue;
                }

                var routeKey = (series.Service, series.Route, series.Method);
                if (!routes.TryGetValue(routeKey, out RouteTotals? totals))
                {
                    totals = new RouteTotals(series.Bounds);
                    routes[routeKey] = totals;
                }

                totals.Add(series, requests, buckets, from);
            }
        }

        var result = routes
            .Where(r => r.Value.Requests > 0)
            .OrderBy(r => r.Key.Service, StringComparer.Ordinal)
            .ThenBy(r => r.Key.Route, StringComparer.Ordinal)
            .ThenBy(r => r.Key.Method, StringComparer.Ordinal)
            .Select(r => r.Value.ToRoute(r.Key.Service, r.Key.Route, r.Key.Method))
            .ToList();
        return new RouteMetricsReport(from, to, result, count, DroppedSeries);
    }

    private static long Nanos(TimeSpan span) => span.Ticks * 100;

    private static long UnixNano(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static string AttributesKey(IEnumerable<KeyValue> attributes) =>
        string.Join("\u001f", attributes.Select(a => a.Key + "=" + a.Value).Order(StringComparer.Ordinal));

    private static string? Text(IEnumerable<KeyValue> attributes, string key) =>
        attributes.FirstOrDefault(a => a.Key == key)?.Value is { } value
            ? value.ValueCase switch
            {
                AnyValue.ValueOneofCase.StringValue => value.StringValue,
                AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
                _ => value.ToString(),
            }
            : null;

    private static string Hex(Google.Protobuf.ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    /// <summary>One running total at one time: requests and per-bucket counts since the series started.</summary>
    private sealed record Total(long TimeUnixNano, ulong Count, ulong[] Buckets);

    private sealed class Series
    {
        private readonly List<Exemplar>[] _exemplars;

        public Series(string service, HistogramDataPoint first, double scale)
        {
            Service = service;
            Route = Text(first.Attributes, "http.route") ?? "";
            Method = Text(first.Attributes, "http.request.method") ?? "";
            StatusCode = long.TryParse(Text(first.Attributes, "http.response.status_code"), NumberStyles.Integer, CultureInfo.InvariantCulture, out long code) ? code : 0;
            ErrorType = Text(first.Attributes, "error.type") ?? "";
            Bounds = [.. first.ExplicitBounds.Select(b => b * scale)];
            StartUnixNano = (long)first.StartTimeUnixNano;
            _exemplars = [.. Enumerable.Range(0, Bounds.Length + 1).Select(_ => new List<Exemplar>())];
        }

        public string Service { get; }

        public string Route { get; }

        public string Method { get; }

        public long StatusCode { get; }

        public string ErrorType { get; }

        /// <summary>A failed request, as the metrics page counts errors: a 5xx answer or an error.type.</summary>
        public bool IsError => StatusCode >= 500 || ErrorType.Length > 0;

        public double[] Bounds { get; }

        public long StartUnixNano { get; }

        /// <summary>The smallest value the series ever recorded (points carry it since their start): a floor for any window.</summary>
        public double? MinSeconds { get; private set; }

        public double? MaxSeconds { get; private set; }

        public List<Total> Points { get; } = [];

        public void Add(HistogramDataPoint point, bool delta, double scale)
        {
            long time = (long)point.TimeUnixNano;
            if (Points.Count > 0 && time <= Points[^1].TimeUnixNano)
            {
                // A repeated or out-of-order export: the running total already covers it.
                return;
            }

            ulong count = point.Count;
            ulong[] buckets = [.. point.BucketCounts];
            if (delta && Points.Count > 0)
            {
                Total last = Points[^1];
                count += last.Count;
                for (int i = 0; i < buckets.Length; i++)
                {
                    buckets[i] += last.Buckets[i];
                }
            }

            if (point.HasMin && point.Count > 0)
            {
                MinSeconds = Math.Min(MinSeconds ?? double.MaxValue, point.Min * scale);
            }

            if (point.HasMax && point.Count > 0)
            {
                MaxSeconds = Math.Max(MaxSeconds ?? 0, point.Max * scale);
            }

            // Within the fine spacing of the point before the last, the last one is superseded: a
            // running total carries everything before it, so only the window's start resolution is lost.
            var total = new Total(time, count, buckets);
            if (Points.Count >= 2 && time - Points[^2].TimeUnixNano < Nanos(FineSpacing))
            {
                Points[^1] = total;
            }
            else
            {
                Points.Add(total);
            }

            foreach (OpenTelemetry.Proto.Metrics.V1.Exemplar exemplar in point.Exemplars)
            {
                if (exemplar.TraceId.Length == 0)
                {
                    continue;
                }

                double seconds = (exemplar.ValueCase == OpenTelemetry.Proto.Metrics.V1.Exemplar.ValueOneofCase.AsInt ? exemplar.AsInt : exemplar.AsDouble) * scale;
                int bucket = Array.FindIndex(Bounds, b => seconds <= b);
                List<Exemplar> kept = _exemplars[bucket < 0 ? Bounds.Length : bucket];
                string spanId = Hex(exemplar.SpanId);
                if (kept.Any(e => e.SpanId == spanId))
                {
                    continue;
                }

                kept.Add(new Exemplar(Hex(exemplar.TraceId), spanId, seconds, (long)exemplar.TimeUnixNano, StatusCode, IsError));
                if (kept.Count > ExemplarsPerBucket)
                {
                    kept.RemoveAt(0);
                }
            }
        }

        /// <summary>
        /// Requests and bucket counts since <paramref name="from"/>, or null when the series has no
        /// point in the window. A series that started in the window counts from zero; one that
        /// started before counts from its last total at or before the window's start, or, when the
        /// viewer received nothing of it that early, from its first total.
        /// </summary>
        public (ulong Requests, ulong[] Buckets)? Increase(long from)
        {
            Total latest = Points[^1];
            if (latest.TimeUnixNano < from)
            {
                return null;
            }

            if (StartUnixNano >= from)
            {
                return (latest.Count, latest.Buckets);
            }

            Total baseline = Points.LastOrDefault(p => p.TimeUnixNano <= from) ?? Points[0];
            ulong[] buckets = new ulong[latest.Buckets.Length];
            for (int i = 0; i < buckets.Length; i++)
            {
                buckets[i] = latest.Buckets[i] - Math.Min(baseline.Buckets[i], latest.Buckets[i]);
            }

            return (latest.Count - Math.Min(baseline.Count, latest.Count), buckets);
        }

        public IEnumerable<Exemplar> Exemplars(long from) => _exemplars.SelectMany(e => e).Where(e => e.TimeUnixNano >= from);

        public void Prune(long retained, long fine)
        {
            // Keep the last total before the retention limit: it is the start of the longest window.
            int firstRetained = Points.FindIndex(p => p.TimeUnixNano >= retained);
            if (firstRetained > 1)
            {
                Points.RemoveRange(0, firstRetained - 1);
            }

            long? previous = null;
            for (int i = 0; i < Points.Count - 1 && Points[i].TimeUnixNano < fine;)
            {
                if (previous is long kept && Points[i].TimeUnixNano - kept < Nanos(CoarseSpacing))
                {
                    Points.RemoveAt(i);
                    continue;
                }

                previous = Points[i].TimeUnixNano;
                i++;
            }

            foreach (List<Exemplar> kept in _exemplars)
            {
                kept.RemoveAll(e => e.TimeUnixNano < retained);
            }
        }
    }

    private sealed class RouteTotals(double[] bounds)
    {
        private readonly ulong[] _buckets = new ulong[bounds.Length + 1];
        private readonly List<Exemplar> _exemplars = [];
        private double? _min;
        private double? _max;
        private bool _minKnown = true;
        private bool _maxKnown = true;

        public ulong Requests { get; private set; }

        public ulong Errors { get; private set; }

        public void Add(Series series, ulong requests, ulong[] buckets, long from)
        {
            Requests += requests;
            Errors += series.IsError ? requests : 0;

            // Series of one route share the instrument's boundaries; one with others (a changed
            // instrument) still counts requests, but its buckets cannot be added to these.
            if (series.Bounds.AsSpan().SequenceEqual(bounds))
            {
                for (int i = 0; i < buckets.Length; i++)
                {
                    _buckets[i] += buckets[i];
                }

                if (requests > 0)
                {
                    // A bound is only usable when every contributing series has one.
                    _minKnown &= series.MinSeconds is not null;
                    _maxKnown &= series.MaxSeconds is not null;
                    _min = Math.Min(_min ?? double.MaxValue, series.MinSeconds ?? double.MaxValue);
                    _max = Math.Max(_max ?? 0, series.MaxSeconds ?? 0);
                }
            }

            _exemplars.AddRange(series.Exemplars(from));
        }

        private double? Estimate(double quantile) =>
            HistogramEstimate.Percentile(bounds, _buckets, quantile, _minKnown ? _min : null, _maxKnown ? _max : null);

        public RouteMetrics ToRoute(string service, string route, string method)
        {
            // The slowest first: they are the ones a percentile sends people looking for; one per trace.
            Exemplar[] exemplars = [.. _exemplars
                .OrderByDescending(e => e.Seconds)
                .DistinctBy(e => e.TraceId)
                .Take(ExemplarsPerRoute)];
            return new RouteMetrics(
                service,
                route,
                method,
                Requests,
                Errors,
                Estimate(0.50),
                Estimate(0.95),
                Estimate(0.99),
                exemplars);
        }
    }
}
