using System.Collections.Concurrent;

namespace TraceAgent.Diagnostics;

/// <summary>
/// Contains a fault in an agent callback: counts it and logs the first occurrence per site, so a
/// callback that fails on every request does not flood the app's stderr.
/// </summary>
public static class AgentFaults
{
    private static readonly ConcurrentDictionary<string, int> Counts = new(StringComparer.Ordinal);
    private static long s_total;

    public static long Total => Interlocked.Read(ref s_total);

    public static void Report(string site, Exception exception)
    {
        Interlocked.Increment(ref s_total);
        var count = Counts.AddOrUpdate(site, 1, static (_, c) => c + 1);
        if (count == 1)
        {
            AgentLog.Warning($"fault contained in {site}: {exception.GetType().Name}: {exception.Message} (further faults here are counted, not logged)");
        }
    }

    internal static IReadOnlyDictionary<string, int> Snapshot() => new Dictionary<string, int>(Counts);
}
