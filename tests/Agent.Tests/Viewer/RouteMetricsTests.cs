using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Metrics;

namespace TraceAgent.Tests.Viewer;

/// <summary>The viewer's route metrics: windows over running totals, error counting, exemplars, bounds, and the percentile estimate.</summary>
public sealed class RouteMetricsTests
{
    private static readonly double[] Bounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
    private static readonly DateTimeOffset T0 = new(2026, 3, 4, 5, 6, 0, TimeSpan.Zero);
    private readonly ManualTime _time = new(T0);

    [Fact]
    public void A_percentile_is_interpolated_linearly_within_the_bucket_that_holds_it()
    {
        // Ten values in (0.1, 0.25]: the median is taken half-way through that bucket.
        Assert.Equal(0.175, HistogramEstimate.Percentile([0.1, 0.25, 0.5], [0, 10, 0, 0], 0.5)!.Value, 9);
        Assert.Equal(0.1 + (0.15 * 0.99), HistogramEstimate.Percentile([0.1, 0.25, 0.5], [0, 10, 0, 0], 0.99)!.Value, 9);

        // 4 values up to 0.1, 4 in (0.1, 0.25], 2 in (0.25, 0.5]: rank 5 is the first of the second bucket's four.
        Assert.Equal(0.1 + (0.15 / 4), HistogramEstimate.Percentile([0.1, 0.25, 0.5], [4, 4, 2, 0], 0.5)!.Value, 9);

        // Rank 9.5 of 10 is three quarters into the third bucket.
        Assert.Equal(0.25 + (0.25 * 0.75), HistogramEstimate.Percentile([0.1, 0.25, 0.5], [4, 4, 2, 0], 0.95)!.Value, 9);

        // The first bucket starts at 0; the one above the highest bound ends at the maximum when known.
        Assert.Equal(0.05, HistogramEstimate.Percentile([0.1, 0.25], [2, 0, 0], 0.5)!.Value, 9);
        Assert.Equal(2.0, HistogramEstimate.Percentile([1], [0, 2], 0.5, max: 3)!.Value, 9);
        Assert.Equal(1.0, HistogramEstimate.Percentile([1], [0, 2], 0.5)!.Value, 9);
        Assert.Null(HistogramEstimate.Percentile([0.1], [0, 0], 0.5));

        // A known minimum and maximum narrow the lowest and highest non-empty buckets, no other.
        Assert.Equal(0.0015, HistogramEstimate.Percentile([0.005, 0.01], [4, 0, 0], 0.5, min: 0.001, max: 0.002)!.Value, 9);
        Assert.Equal(0.05 + (0.05 / 4), HistogramEstimate.Percentile([0.1, 0.25, 0.5], [4, 4, 2, 0], 0.1, min: 0.05, max: 0.3)!.Value, 9);
        Assert.Equal(0.1 + (0.15 / 4), HistogramEstimate.Percentile([0.1, 0.25, 0.5], [4, 4, 2, 0], 0.5, min: 0.05, max: 0.3)!.Value, 9);
        Assert.Equal(0.25 + (0.05 * 0.75), HistogramEstimate.Percentile([0.1, 0.25, 0.5], [4, 4, 2, 0], 0.95, min: 0.05, max: 0.3)!.Value, 9);
        Assert.Throws<ArgumentException>(() => HistogramEstimate.Percentile([0.1], [1], 0.5));
    }

    [Fact]
    public void A_window_counts_the_increase_of_cumulative_totals_since_its_start()
    {
        var store = new RouteMetricsStore(_time);
        Send(store, Cumulative(Point("/items/{id}", 200, at: 10, count: 5, bucket: 6)));
        Send(store, Cumulative(Point("/items/{id}", 200, at: 70, count: 8, bucket: 6)));
        Send(store, Cumulative(Point("/items/{id}", 200, at: 130, count: 20, bucket: 6)));
        _time.Now = T0.AddSeconds(130);

        // The last minute starts at 70 s, where the total was 8; five minutes reach back past the series' start.
        RouteMetrics minute = Assert.Single(store.Query(TimeSpan.FromMinutes(1)).Routes);
        Assert.Equal(12UL, minute.Requests);
        RouteMetrics five = Assert.Single(store.Query(TimeSpan.FromMinutes(5)).Routes);
        Assert.Equal(20UL, five.Requests);
        Assert.Equal(("app", "/items/{id}", "GET"), (five.Service, five.Route, five.Method));

        // Every value in bucket 6, (0.1, 0.25]: so is every percentile.
        Assert.InRange(five.P50Seconds!.Value, 0.1, 0.25);
        Assert.InRange(five.P99Seconds!.Value, 0.1, 0.25);

        // Nothing in a window that ends before the series' last total arrived is shown.
        _time.Now = T0.AddMinutes(10);
        Assert.Empty(store.Query(TimeSpan.FromMinutes(1)).Routes);
    }

    [Fact]
    public void Delta_points_are_added_up_into_running_totals()
    {
        var store = new RouteMetricsStore(_time);
        Send(store, Delta(Point("/items/{id}", 200, at: 10, count: 5, bucket: 2, start: 0)));
        Send(store, Delta(Point("/items/{id}", 200, at: 70, count: 3, bucket: 2, start: 10)));
        Send(store, Delta(Point("/items/{id}", 200, at: 130, count: 4, bucket: 9, start: 70)));
        _time.Now = T0.AddSeconds(130);

        Assert.Equal(12UL, Assert.Single(store.Query(TimeSpan.FromMinutes(5)).Routes).Requests);
        RouteMetrics minute = Assert.Single(store.Query(TimeSpan.FromMinutes(1)).Routes);
        Assert.Equal(4UL, minute.Requests);

        // Only the last minute's four, all in (0.75, 1].
        Assert.InRange(minute.P50Seconds!.Value, 0.75, 1);
    }

    [Fact]
    public void Errors_are_5xx_answers_or_an_error_type_and_a_route_sums_its_status_codes_and_instances()
    {
        var store = new RouteMetricsStore(_time);
        Send(store, Cumulative(
            Point("/status/{code}", 200, at: 10, count: 6, bucket: 1),
            Point("/status/{code}", 404, at: 10, count: 2, bucket: 1),
            Point("/status/{code}", 500, at: 10, count: 3, bucket: 1),
            Point("/status/{code}", 200, at: 10, count: 1, bucket: 1, errorType: "System.TimeoutException"),
            Point("/hello", 200, at: 10, count: 4, bucket: 0)));

        // A second instance of the service: its totals are its own series, added to the first's.
        Send(store, Cumulative(Point("/status/{code}", 503, at: 10, count: 2, bucket: 1)), instance: "b");
        _time.Now = T0.AddSeconds(20);

        RouteMetricsReport report = store.Query(TimeSpan.FromMinutes(1));
        Assert.Equal(["/hello", "/status/{code}"], report.Routes.Select(r => r.Route));
        RouteMetrics status = report.Routes[1];
        Assert.Equal(14UL, status.Requests);
        Assert.Equal(6UL, status.Errors);
        Assert.Equal(0UL, report.Routes[0].Errors);
        Assert.Equal(6, report.Series);
    }

    [Fact]
    public void Exemplars_of_the_window_are_listed_slowest_first_once_per_trace()
    {
        var store = new RouteMetricsStore(_time);
        HistogramDataPoint early = Point("/items/{id}", 200, at: 10, count: 1, bucket: 6);
        early.Exemplars.Add(Exemplar(trace: 1, span: 1, seconds: 0.2, at: 10));
        HistogramDataPoint later = Point("/items/{id}", 200, at: 100, count: 4, bucket: 6);
        later.BucketCounts[9] = 1;
        later.Count = 5;
        later.Exemplars.Add(Exemplar(trace: 2, span: 2, seconds: 0.15, at: 95));
        later.Exemplars.Add(Exemplar(trace: 3, span: 3, seconds: 0.9, at: 96));
        later.Exemplars.Add(Exemplar(trace: 3, span: 4, seconds: 0.03, at: 97));
        Send(store, Cumulative(early));
        Send(store, Cumulative(later));
        _time.Now = T0.AddSeconds(100);

        RouteMetrics minute = Assert.Single(store.Query(TimeSpan.FromMinutes(1)).Routes);
        Assert.Equal([Hex(3), Hex(2)], minute.Exemplars.Select(e => e.TraceId));
        Assert.Equal(0.9, minute.Exemplars[0].Seconds, 9);
        Assert.Equal(Hex(3, 8), minute.Exemplars[0].SpanId);
        RouteMetrics five = Assert.Single(store.Query(TimeSpan.FromMinutes(5)).Routes);
        Assert.Equal([Hex(3), Hex(1), Hex(2)], five.Exemplars.Select(e => e.TraceId));
    }

    [Fact]
    public void Series_beyond_the_limit_are_counted_not_kept_and_silent_series_expire()
    {
        var store = new RouteMetricsStore(_time);
        var points = Enumerable.Range(0, RouteMetricsStore.MaxSeries + 5).Select(i => Point("/r" + i, 200, at: 10, count: 1, bucket: 0)).ToArray();
        Send(store, Cumulative(points));
        Assert.Equal(RouteMetricsStore.MaxSeries, store.SeriesCount);
        Assert.Equal(5, store.DroppedSeries);

        _time.Now = T0.AddSeconds(10) + RouteMetricsStore.Retention + TimeSpan.FromSeconds(1);
        store.Prune();
        Assert.Equal(0, store.SeriesCount);
    }

    [Fact]
    public void Thinned_old_totals_still_answer_every_window()
    {
        // A total every second for 30 minutes, 1 request each second: 1800 in all.
        var store = new RouteMetricsStore(_time);
        for (int second = 1; second <= 1800; second++)
        {
            Send(store, Cumulative(Point("/items/{id}", 200, at: second, count: (ulong)second, bucket: 0, start: 0)));
            if (second % 60 == 0)
            {
                _time.Now = T0.AddSeconds(second);
                store.Prune();
            }
        }

        _time.Now = T0.AddSeconds(1800);
        store.Prune();
        Assert.Equal(1800UL, Assert.Single(store.Query(TimeSpan.FromHours(1)).Routes).Requests);

        // Recent totals are kept every 5 s, older ones every minute: a window's start is found
        // that precisely, and no more totals are kept than those spacings allow.
        Assert.InRange(Assert.Single(store.Query(TimeSpan.FromMinutes(1)).Routes).Requests, 60UL, 65UL);
        Assert.InRange(Assert.Single(store.Query(TimeSpan.FromMinutes(20)).Routes).Requests, 1200UL, 1260UL);
        Assert.InRange(store.PointCount, 1, (15 * 60 / 4) + 15 + 3);
    }

    private static void Send(RouteMetricsStore store, Metric metric, string instance = "a")
    {
        var resource = new Resource();
        resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "app" } });
        resource.Attributes.Add(new KeyValue { Key = "service.instance.id", Value = new AnyValue { StringValue = instance } });
        store.Add([new ReceivedMetric { ServiceName = "app", Resource = resource, ScopeName = "Microsoft.AspNetCore.Hosting", Export = 1, Protocol = "grpc", Metric = metric }]);
    }

    private static Metric Cumulative(params HistogramDataPoint[] points) => Histogram(AggregationTemporality.Cumulative, points);

    private static Metric Delta(params HistogramDataPoint[] points) => Histogram(AggregationTemporality.Delta, points);

    private static Metric Histogram(AggregationTemporality temporality, HistogramDataPoint[] points)
    {
        var histogram = new Histogram { AggregationTemporality = temporality };
        histogram.DataPoints.Add(points);
        return new Metric { Name = RouteMetricsStore.DurationMetric, Unit = "s", Histogram = histogram };
    }

    private static HistogramDataPoint Point(string route, long status, int at, ulong count, int bucket, int start = 0, string? errorType = null)
    {
        var point = new HistogramDataPoint
        {
            StartTimeUnixNano = Nanos(start),
            TimeUnixNano = Nanos(at),
            Count = count,
        };
        point.ExplicitBounds.Add(Bounds);
        point.BucketCounts.Add(Enumerable.Range(0, Bounds.Length + 1).Select(i => i == bucket ? count : 0UL));
        point.Attributes.Add(new KeyValue { Key = "http.route", Value = new AnyValue { StringValue = route } });
        point.Attributes.Add(new KeyValue { Key = "http.request.method", Value = new AnyValue { StringValue = "GET" } });
        point.Attributes.Add(new KeyValue { Key = "http.response.status_code", Value = new AnyValue { IntValue = status } });
        if (errorType is not null)
        {
            point.Attributes.Add(new KeyValue { Key = "error.type", Value = new AnyValue { StringValue = errorType } });
        }

        return point;
    }

    private static OpenTelemetry.Proto.Metrics.V1.Exemplar Exemplar(int trace, int span, double seconds, int at) => new()
    {
        TraceId = ByteString.CopyFrom(Convert.FromHexString(Hex(trace))),
        SpanId = ByteString.CopyFrom(Convert.FromHexString(Hex(span, 8))),
        AsDouble = seconds,
        TimeUnixNano = Nanos(at),
    };

    private static string Hex(int value, int bytes = 16) => value.ToString("x", System.Globalization.CultureInfo.InvariantCulture).PadLeft(bytes * 2, '0');

    private static ulong Nanos(int seconds) => (ulong)(T0.AddSeconds(seconds) - DateTimeOffset.UnixEpoch).Ticks * 100;
}
