using TraceAgent.Export;

namespace TraceAgent.Logs;

/// <summary>
/// Where a logs instrumentation hands its records: a bounded queue exported in batches on the
/// agent's own thread (OTEL_LOGS_EXPORTER). Adding never blocks and never throws into the app.
/// </summary>
public sealed class LogExport
{
    private readonly BatchExportProcessor<LogRecordData> _processor;

    internal LogExport(BatchExportProcessor<LogRecordData> processor, bool includeFormattedMessage)
    {
        _processor = processor;
        IncludeFormattedMessage = includeFormattedMessage;
    }

    /// <summary>OTEL_DOTNET_AUTO_LOGS_INCLUDE_FORMATTED_MESSAGE: the body is the formatted message, not the template.</summary>
    public bool IncludeFormattedMessage { get; }

    internal BatchExportProcessor<LogRecordData> Processor => _processor;

    public void Emit(LogRecordData record) => _processor.Add(record);
}
