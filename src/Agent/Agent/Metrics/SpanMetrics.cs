using System.Diagnostics;
using TraceAgent.Diagnostics;
using TraceAgent.Instrumentation;
using TraceAgent.Tracing;

namespace TraceAgent.Metrics;

/// <summary>
/// The semantic conventions' operation-duration histograms for libraries that publish no meter
/// (StackExchange.Redis, Confluent.Kafka), measured from the spans the agent makes for them: its own
/// ActivityListener sees each span end (sampled or not) and records the span's duration with the
/// conventions' attributes, the span itself as the exemplar; spans written with no Activity
/// (DirectSpans) are handed to it by the tracer. It takes no part in sampling.
/// </summary>
internal sealed class SpanMetrics : IDirectSpanObserver, IDisposable
{
    private static readonly double[] DatabaseBounds = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

    private static readonly string[] RedisKeys =
        ["db.system.name", "db.operation.name", "db.namespace", "server.address", "server.port", "error.type", "db.response.status_code"];

    private static readonly string[] KafkaSendKeys =
        ["messaging.system", "messaging.operation.name", "messaging.operation.type", "messaging.destination.name", "server.address", "server.port", "error.type"];

    private static readonly string[] KafkaProcessKeys =
        ["messaging.system", "messaging.operation.name", "messaging.destination.name", "messaging.consumer.group.name", "error.type"];

#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static KeyValuePair<string, object?>[]? t_tags;
#pragma warning restore IDE1006

    private readonly ActivityListener _listener;
    private readonly MetricStream? _redis;
    private readonly MetricStream? _kafkaSend;
    private readonly MetricStream? _kafkaProcess;

    public SpanMetrics(MetricRegistry registry, bool redis, bool kafka)
    {
        if (redis)
        {
            _redis = registry.GetOrAdd(InstrumentationRegistry.RedisSource, null, "db.client.operation.duration", "s", "Duration of database client operations.", InstrumentKind.Histogram, false, DatabaseBounds);
        }

        if (kafka)
        {
            _kafkaSend = registry.GetOrAdd(InstrumentationRegistry.KafkaSource, null, "messaging.client.operation.duration", "s", "Duration of messaging operation initiated by a producer or consumer client.", InstrumentKind.Histogram, false, MetricStream.SecondsBounds);
            _kafkaProcess = registry.GetOrAdd(InstrumentationRegistry.KafkaSource, null, "messaging.process.duration", "s", "Duration of processing operation.", InstrumentKind.Histogram, false, MetricStream.SecondsBounds);
        }

        _listener = new ActivityListener
        {
            ShouldListenTo = source => (redis && source.Name == InstrumentationRegistry.RedisSource) || (kafka && source.Name == InstrumentationRegistry.KafkaSource),
            ActivityStopped = OnStopped,
        };
    }

    public void Start()
    {
        if (_redis is not null || _kafkaSend is not null)
        {
            ActivitySource.AddActivityListener(_listener);
        }
    }

    private void OnStopped(Activity activity)
    {
        try
        {
            var (stream, keys) = StreamOf(activity.Source, activity.Kind);
            if (stream is null)
            {
                return;
            }

            var tags = t_tags ??= new KeyValuePair<string, object?>[8];
            var count = 0;
            foreach (var key in keys)
            {
                if (activity.GetTagItem(key) is { } value)
                {
                    tags[count++] = new KeyValuePair<string, object?>(key, value);
                }
            }

            stream.RecordHistogram(activity.Duration.TotalSeconds, tags.AsSpan(0, count), activity);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("metrics from " + activity.Source.Name + " spans", ex);
        }
    }

    /// <summary>A span written with no Activity, measured as <see cref="OnStopped"/> measures the others.</summary>
    public void OnEnd(in DirectSpan span, ulong spanId)
    {
        try
        {
            var (stream, keys) = StreamOf(span.Source, span.Kind);
            if (stream is null)
            {
                return;
            }

            var tags = t_tags ??= new KeyValuePair<string, object?>[8];
            var count = 0;
            foreach (var key in keys)
            {
                foreach (var tag in span.Tags)
                {
                    if (tag.Value is not null && string.Equals(tag.Key, key, StringComparison.Ordinal))
                    {
                        tags[count++] = tag;
                        break;
                    }
                }
            }

            stream.RecordHistogram(span.Duration.TotalSeconds, tags.AsSpan(0, count), new ExemplarSpan(span.Parent.TraceId, spanId, sampled: !span.Unsampled));
        }
        catch (Exception ex)
        {
            AgentFaults.Report("metrics from " + span.Source.Name + " spans", ex);
        }
    }

    private (MetricStream? Stream, string[] Keys) StreamOf(ActivitySource source, ActivityKind kind)
    {
        if (source.Name == InstrumentationRegistry.RedisSource)
        {
            return (_redis, RedisKeys);
        }

        return source.Name != InstrumentationRegistry.KafkaSource ? (null, []) : kind switch
        {
            ActivityKind.Producer => (_kafkaSend, KafkaSendKeys),
            ActivityKind.Consumer => (_kafkaProcess, KafkaProcessKeys),
            _ => (null, []),
        };
    }

    public void Dispose() => _listener.Dispose();
}
