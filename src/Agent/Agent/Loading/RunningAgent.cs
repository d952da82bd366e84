using System.Globalization;
using System.Runtime.InteropServices;
using TraceAgent.Diagnostics;
using TraceAgent.Logs;
using TraceAgent.Metrics;
using TraceAgent.Tracing;

namespace TraceAgent.Loading;

/// <summary>
/// What the start-up sequence started, and how it is flushed (on SIGTERM / SIGINT) and stopped (at
/// process exit): every wait bounded by the export timeout, at most 5 s.
/// </summary>
internal sealed class RunningAgent(TracingPipeline pipeline, LazyInstrumentationLoader loader, LogExport? logs, MetricsPipeline? metrics, int shutdownTimeout)
{
    private IDisposable[] _signals = [];

    public TracingPipeline Pipeline => pipeline;

    /// <summary>
    /// SIGTERM does not raise ProcessExit unless the app handles it (a host does, and shuts down
    /// gracefully, raising ProcessExit at the end). Flush what is queued then, without stopping: if
    /// nothing else handles the signal, the process ends right after.
    /// </summary>
    public void FlushOnSignals()
    {
        _signals =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Flush()),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => Flush()),
        ];
    }

    // Spans and log records are flushed side by side, each on its own export thread, so the
    // process waits for the slower of the two, not for their sum.
    private void Flush()
    {
        var logFlush = logs is null ? null : Task.Run(() => logs.Processor.ForceFlush(shutdownTimeout));
        var metricsFlush = metrics is null ? null : Task.Run(() => metrics.ForceFlush(shutdownTimeout));
        pipeline.Processor.ForceFlush(shutdownTimeout);
        logFlush?.Wait(shutdownTimeout);
        metricsFlush?.Wait(shutdownTimeout);
    }

    public void Shutdown()
    {
        try
        {
            loader.Dispose();
            foreach (var signal in _signals)
            {
                signal.Dispose();
            }

            pipeline.Dispose();
            var logProcessor = logs?.Processor;
            var logShutdown = logProcessor is null ? null : Task.Run(() => logProcessor.Shutdown(shutdownTimeout));
            var metricsShutdown = metrics is null ? null : Task.Run(() => metrics.Shutdown(shutdownTimeout));
            pipeline.Processor.Shutdown(shutdownTimeout);
            logShutdown?.Wait(shutdownTimeout);
            metricsShutdown?.Wait(shutdownTimeout);
            AgentLog.Debug(string.Create(CultureInfo.InvariantCulture, $"shut down: {pipeline.Processor.ExportedCount} spans exported, {pipeline.Processor.DroppedCount} dropped, {pipeline.Processor.FailedCount} failed, {AgentFaults.Total} faults contained"));
            if (logProcessor is not null)
            {
                AgentLog.Debug(string.Create(CultureInfo.InvariantCulture, $"shut down: {logProcessor.ExportedCount} log records exported, {logProcessor.DroppedCount} dropped, {logProcessor.FailedCount} failed"));
            }
        }
        catch (Exception ex)
        {
            AgentLog.Warning($"shutdown: {ex.GetType().Name}: {ex.Message}");
        }
    }
}
