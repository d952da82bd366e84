using System.Diagnostics;

namespace TraceAgent.Export;

/// <summary>
/// How a batch fared: all accepted, all lost (rejected for good, or retries exhausted), or some
/// items lost (a collector's partial success, or one of the requests a large batch was split into).
/// </summary>
internal readonly record struct ExportResult
{
    private const int All = -1;

    private ExportResult(int lost)
    {
        LostItems = lost;
    }

    public static ExportResult Success { get; } = new(0);

    public static ExportResult Failure { get; } = new(All);

    /// <summary>Items of the batch lost; -1 for the whole batch.</summary>
    public int LostItems { get; }

    public static ExportResult Lost(int items) => new(Math.Max(0, items));

    /// <summary>How many of a batch of <paramref name="batchSize"/> items were lost.</summary>
    public int LostOf(int batchSize) => LostItems == All ? batchSize : Math.Min(LostItems, batchSize);
}

/// <summary>Sends batches of one signal's items (spans, log records) somewhere.</summary>
internal interface IExporter<in T> : IDisposable
{
    string Description { get; }

    /// <summary>Exports a batch; never throws. Retries, where the protocol allows them, happen inside, before the deadline.</summary>
    ExportResult Export(IReadOnlyList<T> batch, DateTime deadlineUtc, CancellationToken cancellationToken);
}

internal interface ISpanExporter : IExporter<Activity>;
