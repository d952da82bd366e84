using System.Diagnostics;

namespace TraceAgent.Export;

internal enum ExportResult
{
    Success,

    /// <summary>The batch is lost (rejected for good, or retries exhausted).</summary>
    Failure,
}

internal interface ISpanExporter : IDisposable
{
    string Description { get; }

    /// <summary>Exports a batch; never throws. Retries, where the protocol allows them, happen inside, before the deadline.</summary>
    ExportResult Export(IReadOnlyList<Activity> batch, DateTime deadlineUtc, CancellationToken cancellationToken);
}
