using System.Globalization;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Metrics;

/// <summary>Reading received metrics (official OTLP classes) the way the tests ask about them.</summary>
internal static class MetricPoints
{
    public static object? Attribute(this RepeatedField<KeyValue> attributes, string key)
    {
        var found = attributes.FirstOrDefault(a => a.Key == key)?.Value;
        return found?.ValueCase switch
        {
            AnyValue.ValueOneofCase.StringValue => found.StringValue,
            AnyValue.ValueOneofCase.IntValue => found.IntValue,
            AnyValue.ValueOneofCase.BoolValue => found.BoolValue,
            AnyValue.ValueOneofCase.DoubleValue => found.DoubleValue,
            _ => null,
        };
    }

    public static string Hex(this Google.Protobuf.ByteString bytes) => Convert.ToHexString(bytes.ToByteArray()).ToLowerInvariant();

    /// <summary>The metrics called <paramref name="name"/> of one service, in arrival order.</summary>
    public static List<ReceivedMetric> Named(this IReadOnlyList<ReceivedMetric> all, string name, string? service = null) =>
        all.Where(m => m.Name == name && (service is null || m.ServiceName == service)).ToList();

    /// <summary>The histogram points of the last export that carried the metric (cumulative: the totals so far).</summary>
    public static List<HistogramDataPoint> LatestHistogram(this IReadOnlyList<ReceivedMetric> all, string name, Func<HistogramDataPoint, bool> where, string? service = null) =>
        all.Named(name, service).LastOrDefault(m => m.Metric.Histogram.DataPoints.Any(where))?.Metric.Histogram.DataPoints.Where(where).ToList() ?? [];

    public static List<NumberDataPoint> LatestSum(this IReadOnlyList<ReceivedMetric> all, string name, Func<NumberDataPoint, bool> where, string? service = null) =>
        all.Named(name, service).LastOrDefault(m => m.Metric.Sum.DataPoints.Any(where))?.Metric.Sum.DataPoints.Where(where).ToList() ?? [];

    /// <summary>The count of one histogram series in the last export that had it (0 when none yet).</summary>
    public static ulong LatestCount(this IReadOnlyList<ReceivedMetric> all, string name, Func<HistogramDataPoint, bool> where, string? service = null) =>
        all.LatestHistogram(name, where, service).Select(p => p.Count).FirstOrDefault();

    public static long LatestInt(this IReadOnlyList<ReceivedMetric> all, string name, Func<NumberDataPoint, bool> where, string? service = null) =>
        all.LatestSum(name, where, service).Select(p => p.AsInt).FirstOrDefault();

    /// <summary>Sums a delta metric's points over every export.</summary>
    public static long DeltaIntTotal(this IReadOnlyList<ReceivedMetric> all, string name, Func<NumberDataPoint, bool> where, string? service = null) =>
        all.Named(name, service).SelectMany(m => m.Metric.Sum.DataPoints).Where(where).Sum(p => p.AsInt);

    public static ulong DeltaCountTotal(this IReadOnlyList<ReceivedMetric> all, string name, Func<HistogramDataPoint, bool> where, string? service = null) =>
        all.Named(name, service).SelectMany(m => m.Metric.Histogram.DataPoints).Where(where).Aggregate(0UL, (total, p) => total + p.Count);

    public static string Route(HistogramDataPoint point) => point.Attributes.Attribute("http.route") as string ?? "";

    public static long Status(HistogramDataPoint point) => point.Attributes.Attribute("http.response.status_code") is long code ? code : 0;

    public static string Describe(IEnumerable<HistogramDataPoint> points) => string.Join(
        "; ",
        points.Select(p => string.Create(CultureInfo.InvariantCulture, $"count={p.Count} buckets={string.Join("|", p.BucketCounts)} attrs={string.Join(",", p.Attributes.Select(a => a.Key + "=" + a.Value))}")));
}
