using System.Diagnostics;

namespace TraceAgent.Logs;

/// <summary>
/// One log record as captured on the app's thread, ready to be exported later from the export
/// thread: it holds no reference to the logging library's state (which may be reused or mutated
/// after the call returns), only strings, primitive values and the exception.
/// </summary>
public sealed class LogRecordData
{
    public required DateTime TimestampUtc { get; init; }

    /// <summary>The logger's category; exported as the instrumentation scope name.</summary>
    public required string Category { get; init; }

    /// <summary>OTLP severity number (1 trace, 5 debug, 9 info, 13 warn, 17 error, 21 fatal).</summary>
    public required int SeverityNumber { get; init; }

    public required string SeverityText { get; init; }

    public string? Body { get; init; }

    public string? EventName { get; init; }

    /// <summary>Structured values; each value is a string, a primitive or an array of those.</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Attributes { get; init; } = [];

    public Exception? Exception { get; init; }

    /// <summary>Default (all zero) when the record was written outside any span.</summary>
    public ActivityTraceId TraceId { get; init; }

    public ActivitySpanId SpanId { get; init; }

    public ActivityTraceFlags TraceFlags { get; init; }
}
