using System.Diagnostics;

namespace TraceAgent.Export;

/// <summary>What a batch processor counts (the agent's own metrics observe it).</summary>
internal interface IExportCounters
{
    int QueuedCount { get; }

    long ExportedCount { get; }

    long DroppedCount { get; }

    long FailedCount { get; }
}

/// <summary>
/// Where the tracer hands ended spans: <see cref="BatchSpanProcessor"/> queues the Activity itself
/// (console, Zipkin, several exporters); <see cref="EncodingSpanProcessor"/>, for OTLP alone, the
/// span encoded as it ends.
/// </summary>
internal interface ISpanProcessor : IExportCounters, IDisposable
{
    void OnEnd(Activity activity);

    /// <summary>Exports what is queued now; returns false if that did not finish within the timeout.</summary>
    bool ForceFlush(int timeoutMilliseconds);

    /// <summary>Flushes within the timeout, then stops.</summary>
    void Shutdown(int timeoutMilliseconds);
}
