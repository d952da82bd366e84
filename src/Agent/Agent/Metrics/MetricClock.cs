namespace TraceAgent.Metrics;

internal static class MetricClock
{
    public static ulong NowUnixNano() => ToUnixNano(DateTime.UtcNow);

    public static ulong ToUnixNano(DateTime utc) => (ulong)(utc.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}
