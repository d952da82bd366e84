namespace TraceAgent.Instrumentation;

/// <summary>The signal an instrumentation serves, which decides the family of its switch.</summary>
internal enum InstrumentationSignal
{
    /// <summary>Switched by OTEL_DOTNET_AUTO_TRACES_{ID}_INSTRUMENTATION_ENABLED.</summary>
    Traces,

    /// <summary>Switched by OTEL_DOTNET_AUTO_LOGS_{ID}_INSTRUMENTATION_ENABLED.</summary>
    Logs,
}

/// <summary>One instrumentation: its switch id, the assembly whose loading starts it, and where it lives.</summary>
internal sealed record InstrumentationDescriptor(
    string Id,
    string TriggerAssembly,
    string? ImplementationAssembly,
    string TypeName,
    IReadOnlyList<string> Sources,
    InstrumentationSignal Signal = InstrumentationSignal.Traces);

/// <summary>
/// The hand-written list of instrumentations. Those that compile against their library live in
/// their own assembly, loaded only when the library itself loads, so an app without the library
/// never loads either.
/// </summary>
internal static class InstrumentationRegistry
{
    public static readonly IReadOnlyList<InstrumentationDescriptor> All =
    [
        new("ASPNETCORE", "Microsoft.AspNetCore.Hosting", "TraceAgent.Instrumentation.AspNetCore", "TraceAgent.Instrumentation.AspNetCore.AspNetCoreInstrumentation", ["Microsoft.AspNetCore"]),
        new("HTTPCLIENT", "System.Net.Http", null, "TraceAgent.Instrumentation.HttpClient.HttpClientInstrumentation", ["System.Net.Http"]),
        new("NPGSQL", "Npgsql", null, "TraceAgent.Instrumentation.Npgsql.NpgsqlInstrumentation", ["Npgsql"]),
        new("ENTITYFRAMEWORKCORE", "Microsoft.EntityFrameworkCore", null, "TraceAgent.Instrumentation.EntityFrameworkCore.EntityFrameworkCoreInstrumentation", ["TraceAgent.EntityFrameworkCore"]),
        new("STACKEXCHANGEREDIS", "StackExchange.Redis", "TraceAgent.Instrumentation.StackExchangeRedis", "TraceAgent.Instrumentation.StackExchangeRedis.StackExchangeRedisInstrumentation", ["TraceAgent.StackExchangeRedis"]),
        new("KAFKA", "Confluent.Kafka", "TraceAgent.Instrumentation.ConfluentKafka", "TraceAgent.Instrumentation.ConfluentKafka.KafkaInstrumentation", ["TraceAgent.ConfluentKafka"]),

        // Hosting, not Logging: the instrumentation attaches to hosts as they are built; an app that
        // only makes a LoggerFactory by hand offers no hook (docs/instrumentations/logs.md).
        new("ILOGGER", "Microsoft.Extensions.Hosting", "TraceAgent.Instrumentation.ILogger", "TraceAgent.Instrumentation.ILogger.ILoggerInstrumentation", [], InstrumentationSignal.Logs),
    ];

    /// <summary>The ids of the tracing instrumentations (OTEL_DOTNET_AUTO_TRACES_{ID}_INSTRUMENTATION_ENABLED).</summary>
    public static IEnumerable<string> Ids => All.Where(d => d.Signal == InstrumentationSignal.Traces).Select(d => d.Id);

    /// <summary>The ids of the logs instrumentations (OTEL_DOTNET_AUTO_LOGS_{ID}_INSTRUMENTATION_ENABLED).</summary>
    public static IEnumerable<string> LogsIds => All.Where(d => d.Signal == InstrumentationSignal.Logs).Select(d => d.Id);
}
