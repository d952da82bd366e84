namespace TraceAgent.Viewer.Storage;

/// <summary>How many traces the store keeps, for how long, and where.</summary>
internal sealed class StoreOptions
{
    public const int DefaultMaxTraces = 10_000;

    public static readonly TimeSpan DefaultMaxAge = TimeSpan.FromDays(7);

    /// <summary>The database file; null keeps traces in memory only.</summary>
    public string? DatabasePath { get; init; }

    public int MaxTraces { get; init; } = DefaultMaxTraces;

    public TimeSpan MaxAge { get; init; } = DefaultMaxAge;
}
