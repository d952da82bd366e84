using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Metrics.V1;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Instrumentation;
using TraceAgent.Metrics;

namespace TraceAgent.Tests.Metrics;

/// <summary>
/// The metrics pipeline in this process: real Meters and instruments, the agent's MeterListener,
/// a collection, the OTLP encoder, and the official opentelemetry-proto classes to decode it.
/// </summary>
public sealed class MetricsPipelineTests : IDisposable
{
    private readonly string _meterName = "UnitTest." + Guid.NewGuid().ToString("N");
    private readonly List<IDisposable> _disposables = [];

    public void Dispose()
    {
        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }
    }

    private MetricsPipeline Start(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string>
        {
            ["OTEL_DOTNET_AUTO_METRICS_INSTRUMENTATION_ENABLED"] = "false",
            ["OTEL_DOTNET_AUTO_METRICS_ADDITIONAL_SOURCES"] = _meterName + "*",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "3600000",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9",
        };
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        var agent = AgentSettings.Load(new SettingsReader(values), InstrumentationRegistry.Ids);
        var pipeline = MetricsPipeline.Create(agent.Metrics, [new("service.name", "unit-test")])!;
        _disposables.Add(pipeline);
        pipeline.Start();
        return pipeline;
    }

    private Meter NewMeter(string suffix = "", string? version = null)
    {
        var meter = new Meter(_meterName + suffix, version);
        _disposables.Add(meter);
        return meter;
    }

    /// <summary>One collection, encoded and decoded; only this test's meters.</summary>
    private List<(string Scope, string ScopeVersion, Metric Metric)> Collect(MetricsPipeline pipeline)
    {
        var batch = pipeline.Collect();
        if (batch is null)
        {
            return [];
        }

        var writer = new ProtoWriter(64);
        new OtlpMetricEncoder([new("service.name", "unit-test")]).Encode(writer, [batch]);
        var request = ExportMetricsServiceRequest.Parser.ParseFrom(writer.WrittenSpan.ToArray());
        var resource = Assert.Single(request.ResourceMetrics);
        Assert.Equal("unit-test", Assert.Single(resource.Resource.Attributes, a => a.Key == "service.name").Value.StringValue);
        return resource.ScopeMetrics
            .Where(s => s.Scope.Name.StartsWith(_meterName, StringComparison.Ordinal))
            .SelectMany(s => s.Metrics.Select(m => (s.Scope.Name, s.Scope.Version, m)))
            .ToList();
    }

    private static Metric Find(List<(string Scope, string ScopeVersion, Metric Metric)> metrics, string name) =>
        Assert.Single(metrics, m => m.Metric.Name == name).Metric;

    private static string? Attribute(Google.Protobuf.Collections.RepeatedField<OpenTelemetry.Proto.Common.V1.KeyValue> attributes, string key) =>
        attributes.FirstOrDefault(a => a.Key == key)?.Value.StringValue;

    [Fact]
    public void Every_instrument_kind_is_aggregated_and_encoded_as_the_specification_says()
    {
        var pipeline = Start();
        var meter = NewMeter(version: "2.0");
        var counter = meter.CreateCounter<long>("orders", "{order}", "Orders.");
        var upDown = meter.CreateUpDownCounter<int>("in.flight", "{request}");
        var doubles = meter.CreateCounter<double>("revenue", "USD");
        var histogram = meter.CreateHistogram<double>("latency", "ms");
        var observed = 41L;
        meter.CreateObservableGauge("temperature", () => new Measurement<double>(21.5, new KeyValuePair<string, object?>("room", "a")));
        meter.CreateObservableCounter("ticks", () => Interlocked.Increment(ref observed));
        meter.CreateObservableUpDownCounter("queue", () => 7);

        counter.Add(2, new KeyValuePair<string, object?>("region", "eu"));
        counter.Add(3, new KeyValuePair<string, object?>("region", "eu"));
        counter.Add(1, new KeyValuePair<string, object?>("region", "us"));
        upDown.Add(5);
        upDown.Add(-2);
        doubles.Add(1.25);
        doubles.Add(2.5);
        foreach (var value in new[] { 0.0, 3, 7, 7, 99, 20_000 })
        {
            histogram.Record(value);
        }

        var metrics = Collect(pipeline);
        Assert.All(metrics, m => Assert.Equal("2.0", m.ScopeVersion));

        var orders = Find(metrics, "orders");
        Assert.Equal("{order}", orders.Unit);
        Assert.Equal("Orders.", orders.Description);
        Assert.True(orders.Sum.IsMonotonic);
        Assert.Equal(AggregationTemporality.Cumulative, orders.Sum.AggregationTemporality);
        Assert.Equal(5, Assert.Single(orders.Sum.DataPoints, p => Attribute(p.Attributes, "region") == "eu").AsInt);
        Assert.Equal(1, Assert.Single(orders.Sum.DataPoints, p => Attribute(p.Attributes, "region") == "us").AsInt);

        var inFlight = Find(metrics, "in.flight");
        Assert.False(inFlight.Sum.IsMonotonic);
        Assert.Equal(3, Assert.Single(inFlight.Sum.DataPoints).AsInt);
        Assert.Equal(3.75, Assert.Single(Find(metrics, "revenue").Sum.DataPoints).AsDouble);

        var latency = Assert.Single(Find(metrics, "latency").Histogram.DataPoints);
        Assert.Equal(MetricStream.DefaultBounds, latency.ExplicitBounds);
        Assert.Equal(6UL, latency.Count);
        Assert.Equal(20_116.0, latency.Sum);
        Assert.Equal(0.0, latency.Min);
        Assert.Equal(20_000.0, latency.Max);

        // (-inf,0] holds 0; (0,5] holds 3; (5,10] the two 7s; (75,100] 99; (10000,+inf) 20000.
        Assert.Equal(new ulong[] { 1, 1, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, latency.BucketCounts);

        var temperature = Assert.Single(Find(metrics, "temperature").Gauge.DataPoints);
        Assert.Equal(21.5, temperature.AsDouble);
        Assert.Equal("a", Attribute(temperature.Attributes, "room"));
        Assert.Equal(0UL, temperature.StartTimeUnixNano);
        var ticks = Find(metrics, "ticks");
        Assert.True(ticks.Sum.IsMonotonic);
        Assert.Equal(42, Assert.Single(ticks.Sum.DataPoints).AsInt);
        Assert.Equal(7, Assert.Single(Find(metrics, "queue").Sum.DataPoints).AsInt);

        // Cumulative: the next collection carries the totals again, observables re-observed.
        counter.Add(10, new KeyValuePair<string, object?>("region", "us"));
        var again = Collect(pipeline);
        Assert.Equal(11, Assert.Single(Find(again, "orders").Sum.DataPoints, p => Attribute(p.Attributes, "region") == "us").AsInt);
        Assert.Equal(43, Assert.Single(Find(again, "ticks").Sum.DataPoints).AsInt);
        Assert.Equal(6UL, Assert.Single(Find(again, "latency").Histogram.DataPoints).Count);
    }

    [Fact]
    public void The_same_attributes_in_another_order_are_one_point_and_null_values_are_dropped()
    {
        var pipeline = Start();
        var counter = NewMeter().CreateCounter<long>("ordered");
        counter.Add(1, new("a", "1"), new("b", 2));
        counter.Add(1, new("b", 2), new("a", "1"));
        counter.Add(1, new("b", 2), new("a", "1"), new("c", null));

        var points = Find(Collect(pipeline), "ordered").Sum.DataPoints;
        var point = Assert.Single(points, p => p.Attributes.Count == 2);
        Assert.Equal(["a", "b"], point.Attributes.Select(a => a.Key));
        Assert.Equal(2L, point.Attributes[1].Value.IntValue);
        Assert.Equal(3, points.Sum(p => p.AsInt));
    }

    [Fact]
    public void Each_measurement_finds_its_own_point_when_its_set_differs_from_the_last_one_in_a_single_value()
    {
        // A measurement whose set equals the instrument's previous one takes that point without a
        // hash; equal means equal values, not the same objects, and one value apart is another point.
        var pipeline = Start();
        var counter = NewMeter().CreateCounter<long>("requests");
        string route = "/items/{id}";
        for (var i = 0; i < 4; i++)
        {
            counter.Add(1, new("http.route", route), new("http.response.status_code", 200));
            counter.Add(10, new("http.route", new string(route.AsSpan())), new("http.response.status_code", (object)200));
            counter.Add(100, new("http.route", route), new("http.response.status_code", 404));
            counter.Add(1000, new("http.route", route), new("http.response.status_code", "200"));
            counter.Add(10000, new("http.route", "/items/{id}/"), new("http.response.status_code", 200));
            counter.Add(100000, new("url.path", route), new("http.response.status_code", 200));
        }

        var points = Find(Collect(pipeline), "requests").Sum.DataPoints;
        Assert.Equal(5, points.Count);
        long Sum(string key, string value, Func<OpenTelemetry.Proto.Common.V1.AnyValue, bool> status) =>
            Assert.Single(points, p => Attribute(p.Attributes, key) == value && status(p.Attributes.Single(a => a.Key == "http.response.status_code").Value)).AsInt;
        Assert.Equal(44, Sum("http.route", route, v => v.IntValue == 200));
        Assert.Equal(400, Sum("http.route", route, v => v.IntValue == 404));
        Assert.Equal(4000, Sum("http.route", route, v => v.StringValue == "200"));
        Assert.Equal(40000, Sum("http.route", "/items/{id}/", v => v.IntValue == 200));
        Assert.Equal(400000, Sum("url.path", route, v => v.IntValue == 200));
    }

    [Fact]
    public void An_attribute_value_whose_ToString_throws_or_a_null_key_is_left_out_of_its_point()
    {
        var pipeline = Start();
        var counter = NewMeter().CreateCounter<long>("unprintable");
        counter.Add(3, new("kept", "yes"), new("bad", new Unprintable()));
        counter.Add(4, new("kept", "no"), new(null!, "a null key"));

        var points = Find(Collect(pipeline), "unprintable").Sum.DataPoints;
        Assert.Equal(2, points.Count);
        Assert.All(points, p => Assert.Equal(["kept"], p.Attributes.Select(a => a.Key)));
        Assert.Equal(3, Assert.Single(points, p => Attribute(p.Attributes, "kept") == "yes").AsInt);
        Assert.Equal(4, Assert.Single(points, p => Attribute(p.Attributes, "kept") == "no").AsInt);
    }

    [Fact]
    public void A_repeated_key_keeps_its_last_value_and_the_keys_are_sorted()
    {
        var pipeline = Start();
        var counter = NewMeter().CreateCounter<long>("repeated");
        counter.Add(1, new("z", "last"), new("k", "first"), new("a", "x"), new("k", "second"), new("m", null));
        counter.Add(2, new("k", "second"), new("a", "x"), new("z", "last"));

        var point = Assert.Single(Find(Collect(pipeline), "repeated").Sum.DataPoints);
        Assert.Equal(["a", "k", "z"], point.Attributes.Select(a => a.Key));
        Assert.Equal("second", Attribute(point.Attributes, "k"));
        Assert.Equal(3, point.AsInt);
    }

    [Fact]
    public void Instruments_of_the_rarer_value_types_are_recorded()
    {
        // The callbacks for these types are set when the first instrument of each is published.
        var pipeline = Start();
        var meter = NewMeter();
        meter.CreateCounter<byte>("bytes").Add(3);
        meter.CreateCounter<short>("shorts").Add(300);
        meter.CreateCounter<float>("floats").Add(1.5f);
        meter.CreateCounter<decimal>("decimals").Add(2.25m);
        var histogram = meter.CreateHistogram<float>("float.latency");
        histogram.Record(4f);
        histogram.Record(6f);

        var metrics = Collect(pipeline);
        Assert.Equal(3, Assert.Single(Find(metrics, "bytes").Sum.DataPoints).AsInt);
        Assert.Equal(300, Assert.Single(Find(metrics, "shorts").Sum.DataPoints).AsInt);
        Assert.Equal(1.5, Assert.Single(Find(metrics, "floats").Sum.DataPoints).AsDouble);
        Assert.Equal(2.25, Assert.Single(Find(metrics, "decimals").Sum.DataPoints).AsDouble);
        var latency = Assert.Single(Find(metrics, "float.latency").Histogram.DataPoints);
        Assert.Equal(2UL, latency.Count);
        Assert.Equal(10.0, latency.Sum);
    }

    [Fact]
    public void At_the_cardinality_limit_new_sets_go_to_the_overflow_point()
    {
        var pipeline = Start(("TRACEAGENT_METRICS_CARDINALITY_LIMIT", "3"));
        var counter = NewMeter().CreateCounter<long>("labels");
        for (var i = 0; i < 50; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("label", "l" + (i % 10).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var points = Find(Collect(pipeline), "labels").Sum.DataPoints;
        Assert.Equal(3, points.Count);
        Assert.Equal(50, points.Sum(p => p.AsInt));
        var overflow = Assert.Single(points, p => p.Attributes.Any(a => a.Key == "otel.metric.overflow" && a.Value.BoolValue));
        Assert.Equal(40, overflow.AsInt);
    }

    [Fact]
    public void Delta_exports_each_measurement_once_and_lowmemory_keeps_observable_counters_cumulative()
    {
        var pipeline = Start(("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "lowmemory"));
        var meter = NewMeter();
        var counter = meter.CreateCounter<long>("hits");
        var histogram = meter.CreateHistogram<double>("sizes");
        var upDown = meter.CreateUpDownCounter<long>("open");
        long observed = 0;
        meter.CreateObservableCounter("observed", () => observed += 10);

        counter.Add(4);
        histogram.Record(1);
        upDown.Add(2);
        var first = Collect(pipeline);
        Assert.Equal(AggregationTemporality.Delta, Find(first, "hits").Sum.AggregationTemporality);
        Assert.Equal(AggregationTemporality.Delta, Find(first, "sizes").Histogram.AggregationTemporality);
        Assert.Equal(AggregationTemporality.Cumulative, Find(first, "open").Sum.AggregationTemporality);
        Assert.Equal(AggregationTemporality.Cumulative, Find(first, "observed").Sum.AggregationTemporality);
        Assert.Equal(4, Assert.Single(Find(first, "hits").Sum.DataPoints).AsInt);

        // Nothing new: delta points are not sent again; cumulative ones are.
        upDown.Add(1);
        var second = Collect(pipeline);
        Assert.DoesNotContain(second, m => m.Metric.Name is "hits" or "sizes");
        Assert.Equal(3, Assert.Single(Find(second, "open").Sum.DataPoints).AsInt);
        Assert.Equal(20, Assert.Single(Find(second, "observed").Sum.DataPoints).AsInt);

        counter.Add(6);
        var third = Collect(pipeline);
        var point = Assert.Single(Find(third, "hits").Sum.DataPoints);
        Assert.Equal(6, point.AsInt);
        Assert.True(point.StartTimeUnixNano < point.TimeUnixNano);
    }

    [Fact]
    public void Delta_observable_counters_report_the_difference_between_observations()
    {
        var pipeline = Start(("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"));
        long observed = 100;
        NewMeter().CreateObservableCounter("grown", () => observed);
        Assert.Equal(100, Assert.Single(Find(Collect(pipeline), "grown").Sum.DataPoints).AsInt);
        observed = 130;
        var metric = Find(Collect(pipeline), "grown");
        Assert.Equal(AggregationTemporality.Delta, metric.Sum.AggregationTemporality);
        Assert.Equal(30, Assert.Single(metric.Sum.DataPoints).AsInt);
    }

    [Theory]
    [InlineData("cumulative")]
    [InlineData("delta")]
    public void Concurrent_measurements_are_all_counted_and_every_point_adds_up(string temporality)
    {
        var pipeline = Start(("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", temporality));
        var meter = NewMeter();
        var histogram = meter.CreateHistogram<double>("concurrent");
        var counter = meter.CreateCounter<long>("concurrent.count");
        const int Threads = 4;
        const int PerThread = 50_000;
        ulong deltaTotal = 0;
        long deltaCount = 0;
        using var done = new CountdownEvent(Threads);
        for (var t = 0; t < Threads; t++)
        {
            var thread = new Thread(() =>
            {
                for (var i = 0; i < PerThread; i++)
                {
                    histogram.Record(i % 200, new KeyValuePair<string, object?>("k", i % 3));
                    counter.Add(1);
                }

                done.Signal();
            });
            thread.Start();
        }

        void Check(List<(string, string, Metric Metric)> metrics)
        {
            foreach (var point in metrics.Where(m => m.Metric.Name == "concurrent").SelectMany(m => m.Metric.Histogram.DataPoints))
            {
                Assert.Equal(point.Count, point.BucketCounts.Aggregate(0UL, (a, b) => a + b));
                deltaTotal += point.Count;
            }

            deltaCount += metrics.Where(m => m.Metric.Name == "concurrent.count").SelectMany(m => m.Metric.Sum.DataPoints).Sum(p => p.AsInt);
        }

        // Collections run while the writers write.
        while (!done.IsSet)
        {
            var metrics = Collect(pipeline);
            if (temporality == "delta")
            {
                Check(metrics);
            }
        }

        var last = Collect(pipeline);
        if (temporality == "delta")
        {
            Check(last);
            Assert.Equal((ulong)(Threads * PerThread), deltaTotal);
            Assert.Equal(Threads * PerThread, deltaCount);
        }
        else
        {
            var points = Find(last, "concurrent").Histogram.DataPoints;
            Assert.Equal(3, points.Count);
            Assert.Equal((ulong)(Threads * PerThread), points.Aggregate(0UL, (a, p) => a + p.Count));
            Assert.All(points, p => Assert.Equal(p.Count, p.BucketCounts.Aggregate(0UL, (a, b) => a + b)));
            Assert.Equal(Threads * PerThread, Assert.Single(Find(last, "concurrent.count").Sum.DataPoints).AsInt);
        }
    }

    [Fact]
    public void Trace_based_exemplars_come_from_sampled_activities_only()
    {
        var pipeline = Start();
        var histogram = NewMeter().CreateHistogram<double>("timed", "s");
        using var source = new ActivitySource(_meterName);
        var sampled = true;
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => sampled ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(listener);

        string traceId;
        string spanId;
        using (var activity = source.StartActivity("sampled")!)
        {
            traceId = activity.TraceId.ToHexString();
            spanId = activity.SpanId.ToHexString();
            histogram.Record(0.02);
        }

        sampled = false;
        using (source.StartActivity("unsampled"))
        {
            histogram.Record(3);
        }

        histogram.Record(6);

        var point = Assert.Single(Find(Collect(pipeline), "timed").Histogram.DataPoints);
        Assert.Equal(MetricStream.SecondsBounds, point.ExplicitBounds);
        Assert.Equal(3UL, point.Count);
        var exemplar = Assert.Single(point.Exemplars);
        Assert.Equal(0.02, exemplar.AsDouble);
        Assert.Equal(traceId, Convert.ToHexString(exemplar.TraceId.ToByteArray()).ToLowerInvariant());
        Assert.Equal(spanId, Convert.ToHexString(exemplar.SpanId.ToByteArray()).ToLowerInvariant());
        Assert.True(exemplar.TimeUnixNano > 0);

        // Exemplars belong to the interval they were taken in.
        histogram.Record(0.02);
        Assert.Empty(Assert.Single(Find(Collect(pipeline), "timed").Histogram.DataPoints).Exemplars);
    }

    [Fact]
    public void Always_on_exemplars_take_measurements_outside_any_span_and_each_bucket_keeps_one()
    {
        var pipeline = Start(("OTEL_METRICS_EXEMPLAR_FILTER", "always_on"));
        var histogram = NewMeter().CreateHistogram<double>("anywhere");
        for (var i = 0; i < 100; i++)
        {
            histogram.Record(1);
        }

        histogram.Record(60);
        var point = Assert.Single(Find(Collect(pipeline), "anywhere").Histogram.DataPoints);
        Assert.Equal(2, point.Exemplars.Count);
        Assert.Contains(point.Exemplars, e => e.AsDouble == 1 && e.TraceId.IsEmpty && e.SpanId.IsEmpty);
        Assert.Contains(point.Exemplars, e => e.AsDouble == 60);
    }

    [Fact]
    public void Advised_bucket_boundaries_are_used()
    {
        var pipeline = Start();
        var meter = NewMeter();
        var histogram = meter.CreateHistogram<int>("advised", "ms", null, null, new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 10, 100] });
        histogram.Record(50);

        // Double boundaries (what the framework's own instruments advise) are read another way.
        var seconds = meter.CreateHistogram<double>("advised.seconds", "s", null, null, new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.25, 2.5] });
        seconds.Record(0.3);

        var metrics = Collect(pipeline);
        var point = Assert.Single(Find(metrics, "advised").Histogram.DataPoints);
        Assert.Equal([1.0, 10.0, 100.0], point.ExplicitBounds);
        Assert.Equal(new ulong[] { 0, 0, 1, 0 }, point.BucketCounts);
        var secondsPoint = Assert.Single(Find(metrics, "advised.seconds").Histogram.DataPoints);
        Assert.Equal([0.005, 0.25, 2.5], secondsPoint.ExplicitBounds);
        Assert.Equal(new ulong[] { 0, 0, 1, 0 }, secondsPoint.BucketCounts);
    }

    [Fact]
    public void Identical_instruments_of_two_meters_of_one_name_are_one_metric_and_gauges_keep_the_last_value()
    {
        var pipeline = Start();
        NewMeter(".shared").CreateCounter<long>("shared.count").Add(2);
        NewMeter(".shared").CreateCounter<long>("shared.count").Add(3);
        var gauge = NewMeter().CreateGauge<double>("level", "%");
        gauge.Record(10);
        gauge.Record(30);

        var metrics = Collect(pipeline);
        Assert.Equal(5, Assert.Single(Find(metrics, "shared.count").Sum.DataPoints).AsInt);
        var level = Find(metrics, "level");
        Assert.Equal(Metric.DataOneofCase.Gauge, level.DataCase);
        Assert.Equal(30.0, Assert.Single(level.Gauge.DataPoints).AsDouble);
    }

    [Fact]
    public void Past_the_metric_limit_new_instruments_are_ignored()
    {
        var registry = new MetricRegistry(AgentSettings.Load(new SettingsReader(new Dictionary<string, string>()), InstrumentationRegistry.Ids).Metrics);
        for (var i = 0; i < MetricRegistry.MaxStreams; i++)
        {
            Assert.NotNull(registry.GetOrAdd("scope", null, "m" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), null, null, InstrumentKind.Counter, true, null));
        }

        Assert.Null(registry.GetOrAdd("scope", null, "one.more", null, null, InstrumentKind.Counter, true, null));
        Assert.NotNull(registry.GetOrAdd("scope", null, "m7", null, null, InstrumentKind.Counter, true, null));
        Assert.Equal(MetricRegistry.MaxStreams, registry.Streams.Length);
    }

    [Fact]
    public void A_throwing_observable_callback_loses_its_own_measurements_only()
    {
        var pipeline = Start();
        var meter = NewMeter();
        meter.CreateObservableGauge("broken", new Func<long>(() => throw new InvalidOperationException("app bug")));
        meter.CreateObservableGauge("fine", () => 3L);
        var metrics = Collect(pipeline);
        Assert.Equal(3, Assert.Single(Find(metrics, "fine").Gauge.DataPoints).AsInt);
        Assert.DoesNotContain(metrics, m => m.Metric.Name == "broken");
    }

    [Fact]
    public void A_disposed_meter_is_exported_once_more_then_forgotten()
    {
        var pipeline = Start();
        var meter = new Meter(_meterName + ".gone");
        meter.CreateCounter<long>("gone").Add(1);
        meter.Dispose();
        Assert.Equal(1, Assert.Single(Find(Collect(pipeline), "gone").Sum.DataPoints).AsInt);
        Assert.DoesNotContain(Collect(pipeline), m => m.Metric.Name == "gone");
    }

    private sealed class Unprintable
    {
        public override string ToString() => throw new InvalidOperationException("no text on purpose");
    }
}
