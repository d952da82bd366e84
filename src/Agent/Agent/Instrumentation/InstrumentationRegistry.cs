using TraceAgent.Configuration;
using TraceAgent.Instrumentation.EntityFrameworkCore;
using TraceAgent.Instrumentation.HttpClient;
using TraceAgent.Instrumentation.Npgsql;

namespace TraceAgent.Instrumentation;

/// <summary>The signal an instrumentation serves, which decides the family of its switch.</summary>
internal enum InstrumentationSignal
{
    /// <summary>Switched by OTEL_DOTNET_AUTO_TRACES_{ID}_INSTRUMENTATION_ENABLED.</summary>
    Traces,

    /// <summary>Switched by OTEL_DOTNET_AUTO_LOGS_{ID}_INSTRUMENTATION_ENABLED.</summary>
    Logs,
}

/// <summary>
/// One instrumentation: its switch id, the assembly whose loading starts it, where it lives
/// (ImplementationAssembly null: compiled into the core), the ActivitySources the pipeline listens
/// to for it, and the slice of the settings it receives.
/// </summary>
internal sealed record InstrumentationDescriptor(
    string Id,
    string TriggerAssembly,
    string? ImplementationAssembly,
    string TypeName,
    IReadOnlyList<string> Sources,
    Func<AgentSettings, object?> SettingsOf,
    InstrumentationSignal Signal = InstrumentationSignal.Traces);

/// <summary>
/// The hand-written list of instrumentations. Those compiled into the core are named from code
/// (typeof, their own constants). Those that compile against their library live in their own
/// assembly, loaded only when the library itself loads, so an app without the library never loads
/// either: the core cannot reference them, so they are named by strings here, which
/// InstrumentationRegistryTests checks against the built assemblies (type, interface, trigger, sources).
/// </summary>
internal static class InstrumentationRegistry
{
    private const string NpgsqlId = NpgsqlInstrumentation.Id;

    // The ActivitySources of the two instrumentations in their own assemblies, spelled once here for
    // every part of the core that needs them (the span-derived metrics listen to them too) and held
    // to each assembly's own SourceName constant by InstrumentationRegistryTests.
    public const string RedisId = "STACKEXCHANGEREDIS";
    public const string RedisSource = "TraceAgent.StackExchangeRedis";
    public const string KafkaId = "KAFKA";
    public const string KafkaSource = "TraceAgent.ConfluentKafka";

    public static readonly IReadOnlyList<InstrumentationDescriptor> All =
    [
        new("ASPNETCORE", "Microsoft.AspNetCore.Hosting", "TraceAgent.Instrumentation.AspNetCore", "TraceAgent.Instrumentation.AspNetCore.AspNetCoreInstrumentation", ["Microsoft.AspNetCore"], static s => s.AspNetCore),
        new("HTTPCLIENT", HttpClientInstrumentation.TriggerAssembly, null, typeof(HttpClientInstrumentation).FullName!, [HttpClientInstrumentation.SourceName], static s => s.HttpClient),
        new(NpgsqlId, NpgsqlInstrumentation.TriggerAssembly, null, typeof(NpgsqlInstrumentation).FullName!, [NpgsqlInstrumentation.SourceName], static s => s.Database),
        new("ENTITYFRAMEWORKCORE", EntityFrameworkCoreInstrumentation.TriggerAssembly, null, typeof(EntityFrameworkCoreInstrumentation).FullName!, [EntityFrameworkCoreInstrumentation.SourceName], static s => new EntityFrameworkCoreSettings(s.Database, s.IsInstrumentationEnabled(NpgsqlId))),
        new(RedisId, "StackExchange.Redis", "TraceAgent.Instrumentation.StackExchangeRedis", "TraceAgent.Instrumentation.StackExchangeRedis.StackExchangeRedisInstrumentation", [RedisSource], static s => s.Redis),
        new(KafkaId, "Confluent.Kafka", "TraceAgent.Instrumentation.ConfluentKafka", "TraceAgent.Instrumentation.ConfluentKafka.KafkaInstrumentation", [KafkaSource], static s => s.Kafka),

        // Hosting, not Logging: the instrumentation attaches to hosts as they are built; an app that
        // only makes a LoggerFactory by hand offers no hook (docs/instrumentations/logs.md). It needs
        // no settings of its own: what it exports goes through InstrumentationContext.Logs.
        new("ILOGGER", "Microsoft.Extensions.Hosting", "TraceAgent.Instrumentation.ILogger", "TraceAgent.Instrumentation.ILogger.ILoggerInstrumentation", [], static _ => null, InstrumentationSignal.Logs),
    ];

    /// <summary>The ids of the tracing instrumentations (OTEL_DOTNET_AUTO_TRACES_{ID}_INSTRUMENTATION_ENABLED).</summary>
    public static IEnumerable<string> Ids => All.Where(d => d.Signal == InstrumentationSignal.Traces).Select(d => d.Id);

    /// <summary>The ids of the logs instrumentations (OTEL_DOTNET_AUTO_LOGS_{ID}_INSTRUMENTATION_ENABLED).</summary>
    public static IEnumerable<string> LogsIds => All.Where(d => d.Signal == InstrumentationSignal.Logs).Select(d => d.Id);

    /// <summary>The instrumentations switched on, in registry order; <paramref name="skipped"/> names the others for the start-up summary.</summary>
    public static List<InstrumentationDescriptor> Enabled(AgentSettings settings, out List<string> skipped)
    {
        var enabled = new List<InstrumentationDescriptor>();
        skipped = [];
        foreach (var descriptor in All)
        {
            var on = descriptor.Signal == InstrumentationSignal.Logs
                ? settings.IsLogsInstrumentationEnabled(descriptor.Id)
                : settings.IsInstrumentationEnabled(descriptor.Id);
            if (on)
            {
                enabled.Add(descriptor);
            }
            else
            {
                skipped.Add(descriptor.Id + " (switched off)");
            }
        }

        return enabled;
    }
}
