using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Model;
using TraceAgent.Viewer.Storage;

namespace TraceAgent.Viewer.Query;

/// <summary>
/// A trace search. Like Jaeger's, the span conditions (service, operation, tags, duration, start
/// time) must all hold for one span of the trace; the viewer adds trace conditions: errors only,
/// and a duration range for the whole trace instead of a span.
/// </summary>
internal sealed class TraceQuery
{
    public string? Service { get; init; }

    public string? Operation { get; init; }

    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();

    public long? MinDurationNanos { get; init; }

    public long? MaxDurationNanos { get; init; }

    /// <summary>Apply the duration range to the whole trace rather than to the matching span.</summary>
    public bool DurationOfTrace { get; init; }

    public long? StartMinUnixNano { get; init; }

    public long? StartMaxUnixNano { get; init; }

    public bool ErrorsOnly { get; init; }

    public IReadOnlyList<string> TraceIds { get; init; } = [];

    public int Limit { get; init; } = 20;

    public bool Matches(StoredTrace trace)
    {
        if (TraceIds.Count > 0 && !TraceIds.Contains(trace.TraceId, StringComparer.Ordinal))
        {
            return false;
        }

        if (ErrorsOnly && trace.ErrorCount == 0)
        {
            return false;
        }

        if (DurationOfTrace && !InRange(trace.Tree.DurationNanos))
        {
            return false;
        }

        foreach (SpanNode span in trace.Tree.Spans)
        {
            if (SpanMatches(span))
            {
                return true;
            }
        }

        return false;
    }

    private bool InRange(long nanos) =>
        (MinDurationNanos is not long min || nanos >= min) && (MaxDurationNanos is not long max || nanos <= max);

    private bool SpanMatches(SpanNode span)
    {
        if (Service is { Length: > 0 } service && span.Service != service)
        {
            return false;
        }

        if (Operation is { Length: > 0 } operation && span.Span.Name != operation)
        {
            return false;
        }

        if (!DurationOfTrace && !InRange(span.DurationNanos))
        {
            return false;
        }

        if ((StartMinUnixNano is long from && span.Start < from) || (StartMaxUnixNano is long to && span.Start > to))
        {
            return false;
        }

        foreach ((string key, string value) in Tags)
        {
            if (!HasTag(span.Span, key, value))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Whether the span carries the tag as Jaeger would show it: its attributes, its resource's
    /// (Jaeger's process tags), its events' (Jaeger's log fields), and the tags the OTLP-to-Jaeger
    /// translation adds (error, span.kind, otel.status_code, otel.status_description, otel.scope.*).
    /// </summary>
    public static bool HasTag(ReceivedSpan span, string key, string value)
    {
        string? synthetic = key switch
        {
            "error" when span.StatusCode == 2 => "true",
            "span.kind" when span.Kind != SpanKinds.Unspecified => span.KindName,
            "otel.status_code" when span.StatusCode == 1 => "OK",
            "otel.status_code" when span.StatusCode == 2 => "ERROR",
            "otel.status_description" when span.StatusMessage.Length > 0 => span.StatusMessage,
            "otel.scope.name" when span.ScopeName.Length > 0 => span.ScopeName,
            "otel.scope.version" when span.ScopeVersion.Length > 0 => span.ScopeVersion,
            _ => null,
        };

        if (synthetic == value)
        {
            return true;
        }

        if (Has(span.Attributes, key, value) || Has(span.ResourceAttributes, key, value))
        {
            return true;
        }

        foreach (ReceivedSpanEvent e in span.Events)
        {
            if ((key == "event" && e.Name == value) || Has(e.Attributes, key, value))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Has(IReadOnlyDictionary<string, object?> attributes, string key, string value) =>
        attributes.TryGetValue(key, out object? actual) && TagValue.Text(actual) == value;
}
