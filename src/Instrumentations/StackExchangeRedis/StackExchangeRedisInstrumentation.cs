using StackExchange.Redis;
using StackExchange.Redis.Configuration;
using StackExchange.Redis.Profiling;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;

namespace TraceAgent.Instrumentation.StackExchangeRedis;

/// <summary>
/// StackExchange.Redis client spans, with no code change: the agent joins the library's
/// options-provider chain, registers its profiler on every multiplexer after it connects, and turns
/// the profiled commands into spans (see docs/instrumentations/redis.md).
/// </summary>
public sealed class StackExchangeRedisInstrumentation : IInstrumentation
{
    /// <summary>The assembly whose loading starts the instrumentation (the core's registry names it; a unit test compares).</summary>
    public const string TriggerAssembly = "StackExchange.Redis";

    /// <summary>The ActivitySource of the spans the instrumentation makes (the core's registry names it; a unit test compares).</summary>
    public const string SourceName = CommandSpans.SourceName;

    public IDisposable? Start(InstrumentationContext context)
    {
        // Everything the agent calls in the library is bound here, so a version without it fails
        // now, inside the loader's try/catch, and not later on an app thread.
        RequireApi();
        Func<IProfiledCommand, string?>? commandAndKey = null;
        if (context.GetSettings<RedisSettings>().CaptureKeys)
        {
            commandAndKey = CommandSpans.FindCommandAndKey(context.Library);
            if (commandAndKey is null)
            {
                AgentLog.Warning("Redis: this StackExchange.Redis version does not expose command keys; db.query.text holds the command name only");
            }
        }

        var tracer = new RedisTracer(new CommandSpans(commandAndKey, context.Sampling.RecordsChildrenOf, context.DirectSpans));
        RedisConnectionHook.Tracer = tracer;
        TracingOptionsProviders.Register();
        tracer.Start();
        return tracer;
    }

    /// <summary>
    /// The members of the library the instrumentation relies on, checked by name (no method is
    /// compiled ahead: that costs start-up time, and every later call into the library runs inside
    /// a try/catch that counts a fault and leaves the app's call alone).
    /// </summary>
    private static void RequireApi()
    {
        _ = typeof(DefaultOptionsProvider).GetMethod(nameof(DefaultOptionsProvider.AfterConnectAsync), [typeof(ConnectionMultiplexer), typeof(Action<string>)])
            ?? throw new MissingMethodException(nameof(DefaultOptionsProvider), nameof(DefaultOptionsProvider.AfterConnectAsync));
        _ = typeof(DefaultOptionsProvider).GetMethod(nameof(DefaultOptionsProvider.AddProvider), [typeof(DefaultOptionsProvider)])
            ?? throw new MissingMethodException(nameof(DefaultOptionsProvider), nameof(DefaultOptionsProvider.AddProvider));
        _ = typeof(ConnectionMultiplexer).GetMethod(nameof(ConnectionMultiplexer.RegisterProfiler), [typeof(Func<ProfilingSession?>)])
            ?? throw new MissingMethodException(nameof(ConnectionMultiplexer), nameof(ConnectionMultiplexer.RegisterProfiler));
        _ = typeof(ProfilingSession).GetMethod(nameof(ProfilingSession.FinishProfiling), Type.EmptyTypes)
            ?? throw new MissingMethodException(nameof(ProfilingSession), nameof(ProfilingSession.FinishProfiling));
    }
}
