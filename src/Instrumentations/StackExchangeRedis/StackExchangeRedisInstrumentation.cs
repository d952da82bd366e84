using System.Runtime.CompilerServices;
using StackExchange.Redis;
using StackExchange.Redis.Configuration;
using StackExchange.Redis.Profiling;
using TraceAgent.Diagnostics;

namespace TraceAgent.Instrumentation.StackExchangeRedis;

/// <summary>
/// StackExchange.Redis client spans, with no code change: the agent joins the library's
/// options-provider chain, registers its profiler on every multiplexer after it connects, and turns
/// the profiled commands into spans (see docs/instrumentations/redis.md).
/// </summary>
public sealed class StackExchangeRedisInstrumentation : IInstrumentation
{
    public IDisposable? Start(InstrumentationContext context)
    {
        // Everything the agent calls in the library is bound here, so a version without it fails
        // now, inside the loader's try/catch, and not later on an app thread.
        RequireApi();
        Func<IProfiledCommand, string?>? commandAndKey = null;
        if (context.Settings.Redis.CaptureKeys)
        {
            commandAndKey = CommandSpans.FindCommandAndKey(context.Library);
            if (commandAndKey is null)
            {
                AgentLog.Warning("Redis: this StackExchange.Redis version does not expose command keys; db.query.text holds the command name only");
            }
        }

        var tracer = new RedisTracer(new CommandSpans(commandAndKey));
        RedisConnectionHook.Tracer = tracer;
        TracingOptionsProviders.Register();
        tracer.Start();
        return tracer;
    }

    private static void RequireApi()
    {
        _ = typeof(DefaultOptionsProvider).GetMethod(nameof(DefaultOptionsProvider.AfterConnectAsync), [typeof(ConnectionMultiplexer), typeof(Action<string>)])
            ?? throw new MissingMethodException(nameof(DefaultOptionsProvider), nameof(DefaultOptionsProvider.AfterConnectAsync));
        _ = new ProfilingSession().FinishProfiling();
        foreach (var type in new[] { typeof(RedisTracer), typeof(CommandSpans), typeof(TracingOptionsProviders), typeof(RedisConnectionHook) })
        {
            foreach (var method in type.GetMethods(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly))
            {
                if (!method.IsAbstract && !method.ContainsGenericParameters)
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                }
            }
        }
    }
}
