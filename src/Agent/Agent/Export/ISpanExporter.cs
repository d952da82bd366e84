using System.Diagnostics;

namespace TraceAgent.Export;

internal enum ExportResult
{
    Success,

    /// <summary>The batch is lost (rejected for good, or retries exhausted).</summary>
    Failure,
}

/// <summary>Sends batches of one signal's items (spans, log records) somewhere.</summary>
internal interface IExporter<in T> : IDisposable
{
    string Description { get; }

    /// <summary>Exports a batch; never throws. Retries, where the protocol allows them, happen inside, before the deadline.</summary>
    ExportResult Export(IReadOnlyList<T> batch, DateTime deadlineUtc, CancellationToken cancellationToken);
}

internal interface ISpanExporter : IExporter<Activity>;
