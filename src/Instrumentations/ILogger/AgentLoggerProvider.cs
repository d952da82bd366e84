using Microsoft.Extensions.Logging;
using TraceAgent.Logs;

namespace TraceAgent.Instrumentation.ILogger;

/// <summary>
/// The logger provider that turns ILogger records into OTLP log records. The alias is the one the
/// OpenTelemetry SDK's provider uses, so an app's "Logging:OpenTelemetry:LogLevel" section applies.
/// </summary>
[ProviderAlias("OpenTelemetry")]
internal sealed class AgentLoggerProvider : ILoggerProvider
{
    private readonly LogExport _logs;

    public AgentLoggerProvider(LogExport logs)
    {
        _logs = logs;
    }

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new AgentLogger(categoryName, _logs);

    public void Dispose()
    {
    }
}
