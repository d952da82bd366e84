namespace TraceAgent.Bench;

/// <summary>One start of the start-up or job part: its configuration, its run, and for a baseline start, the configuration it was paired with.</summary>
internal interface IPairedRun
{
    string Key { get; }

    int Run { get; }

    string? PairedWith { get; }
}

/// <summary>
/// The starts of the start-up or job part (see <see cref="PairedStarts"/>), read as pairs: each
/// configuration's start against the baseline start made at the same moment.
/// </summary>
internal sealed class PairedRuns<T>(IReadOnlyList<T> runs)
    where T : class, IPairedRun
{
    public IReadOnlyList<int> RunNumbers { get; } = runs.Select(r => r.Run).Distinct().Order().ToList();

    public T? Find(string key, int run) => runs.FirstOrDefault(r => r.Key == key && r.Run == run && r.PairedWith is null);

    /// <summary>The baseline start made with <paramref name="key"/>'s start in that run.</summary>
    public T? BaseOf(string key, int run) => runs.FirstOrDefault(r => r.Run == run && r.PairedWith == key);

    /// <summary>What the configuration added in that run, against its own baseline start; null if either start is missing.</summary>
    public double? Added(string key, int run, Func<T, double> metric) =>
        Find(key, run) is { } test && BaseOf(key, run) is { } paired ? metric(test) - metric(paired) : null;

    /// <summary>What the configuration added, over the runs.</summary>
    public Spread Delta(string key, Func<T, double> metric) => Spread.Of(RunNumbers.Select(n => Added(key, n, metric)).OfType<double>());

    /// <summary>In each run, what one configuration added less what another added (each against its own baseline start).</summary>
    public Spread DeltaLess(string key, string other, Func<T, double> metric) =>
        Spread.Of(RunNumbers.Select(n => Added(key, n, metric) - Added(other, n, metric)).OfType<double>());

    /// <summary>Every start of the configuration (a baseline's: all of them).</summary>
    public Spread Values(string key, Func<T, double> metric) => Spread.Of(runs.Where(r => r.Key == key).Select(metric));
}
