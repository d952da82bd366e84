using System.ComponentModel;
using StackExchange.Redis;

namespace TraceAgent.Instrumentation.StackExchangeRedis;

/// <summary>
/// The one entry point the options providers call after a multiplexer connects. Public only
/// because the provider subclasses are emitted into a dynamic assembly, which can call nothing
/// internal; not for use by anyone else.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class RedisConnectionHook
{
    internal static RedisTracer? Tracer { get; set; }

    public static void OnConnected(ConnectionMultiplexer multiplexer)
    {
        try
        {
            Tracer?.Attach(multiplexer);
        }
        catch (Exception ex)
        {
            Diagnostics.AgentFaults.Report("Redis profiler registration", ex);
        }
    }
}
