namespace TraceAgent.Diagnostics;

/// <summary>
/// Contains a fault in an agent callback: counts it and logs the first occurrence per site, so a
/// callback that fails on every request does not flood the app's stderr.
/// </summary>
public static class AgentFaults
{
    // A plain dictionary under a lock, not a ConcurrentDictionary: faults are rare, and that type's
    // instantiation over an int value has no precompiled code, which the JIT would compile in every
    // process when this class is first touched at start-up.
    private static readonly Dictionary<string, int> Counts = new(StringComparer.Ordinal);
    private static long s_total;

    public static long Total => Interlocked.Read(ref s_total);

    public static void Report(string site, Exception exception)
    {
        Interlocked.Increment(ref s_total);
        int count;
        lock (Counts)
        {
            count = Counts.TryGetValue(site, out var seen) ? seen + 1 : 1;
            Counts[site] = count;
        }

        if (count == 1)
        {
            AgentLog.Warning($"fault contained in {site}: {exception.GetType().Name}: {exception.Message} (further faults here are counted, not logged)");
        }
    }

    internal static IReadOnlyDictionary<string, int> Snapshot()
    {
        lock (Counts)
        {
            return new Dictionary<string, int>(Counts);
        }
    }
}
