using System.Diagnostics;
using Microsoft.Extensions.Logging;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Logs;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.ILogger;

/// <summary>
/// Captures one ILogger call as an OTLP log record, following the OpenTelemetry .NET convention:
/// the body is the message template ("{OriginalFormat}") and the template's values are attributes;
/// with OTEL_DOTNET_AUTO_LOGS_INCLUDE_FORMATTED_MESSAGE=true the body is the formatted message and
/// the template moves to the "{OriginalFormat}" attribute, as the OpenTelemetry exporter does.
/// </summary>
internal sealed class AgentLogger : Microsoft.Extensions.Logging.ILogger
{
    private const string OriginalFormat = "{OriginalFormat}";

    private readonly string _category;
    private readonly LogExport _logs;

    public AgentLogger(string category, LogExport logs)
    {
        _category = category;
        _logs = logs;
    }

    // Scopes are not exported (their keys repeat across nested scopes); the trace context is taken
    // from Activity.Current directly.
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel == LogLevel.None || Suppression.IsActive)
        {
            return;
        }

        try
        {
            _logs.Emit(Capture(logLevel, eventId, state, exception, formatter));
        }
        catch (Exception ex)
        {
            AgentFaults.Report("ilogger record", ex);
        }
    }

    private LogRecordData Capture<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string? template = null;
        List<KeyValuePair<string, object?>>? attributes = null;
        if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            attributes = new List<KeyValuePair<string, object?>>(values.Count);
            for (var i = 0; i < values.Count; i++)
            {
                AddValue(values[i], ref template, attributes);
            }
        }
        else if (state is IEnumerable<KeyValuePair<string, object?>> sequence)
        {
            attributes = [];
            foreach (var value in sequence)
            {
                AddValue(value, ref template, attributes);
            }
        }

        string? body;
        if (_logs.IncludeFormattedMessage)
        {
            body = formatter?.Invoke(state, exception);
            if (template is not null)
            {
                attributes!.Add(new KeyValuePair<string, object?>(OriginalFormat, template));
            }
        }
        else
        {
            // A state with no template (a custom state object) still gets a readable body.
            body = template ?? formatter?.Invoke(state, exception);
        }

        var activity = Activity.Current;
        var (number, text) = Severity(logLevel);
        return new LogRecordData
        {
            TimestampUtc = DateTime.UtcNow,
            Category = _category,
            SeverityNumber = number,
            SeverityText = text,
            Body = body,
            EventName = eventId.Name,
            Attributes = (IReadOnlyList<KeyValuePair<string, object?>>?)attributes ?? [],
            Exception = exception,
            TraceId = activity?.TraceId ?? default,
            SpanId = activity?.SpanId ?? default,
            TraceFlags = activity?.ActivityTraceFlags ?? default,
        };
    }

    private static void AddValue(KeyValuePair<string, object?> value, ref string? template, List<KeyValuePair<string, object?>> attributes)
    {
        if (value.Key == OriginalFormat)
        {
            template = value.Value as string;
        }
        else if (value.Value is not null && !string.IsNullOrEmpty(value.Key) && Snapshot(value.Value) is { } snapshot)
        {
            attributes.Add(new KeyValuePair<string, object?>(value.Key, snapshot));
        }
    }

    // The record is exported later on another thread: keep immutable values as they are (so
    // numbers stay numbers) and turn anything else into its invariant text now (null, and the
    // attribute left out, when its ToString throws).
    private static object? Snapshot(object value) => value switch
    {
        string or bool or int or long or double or float or short or byte or sbyte or uint or ushort => value,
        string[] strings => strings.Clone(),
        int[] ints => ints.Clone(),
        long[] longs => longs.Clone(),
        double[] doubles => doubles.Clone(),
        bool[] bools => bools.Clone(),
        _ => AttributeText.Of(value),
    };

    // The OpenTelemetry log data model's mapping of ILogger levels, with its short names.
    private static (int Number, string Text) Severity(LogLevel level) => level switch
    {
        LogLevel.Trace => (1, "Trace"),
        LogLevel.Debug => (5, "Debug"),
        LogLevel.Information => (9, "Info"),
        LogLevel.Warning => (13, "Warn"),
        LogLevel.Error => (17, "Error"),
        LogLevel.Critical => (21, "Fatal"),
        _ => (0, string.Empty),
    };
}
