namespace TraceAgent.Instrumentation;

/// <summary>One instrumentation: its switch id, the assembly whose loading starts it, and where it lives.</summary>
internal sealed record InstrumentationDescriptor(
    string Id,
    string TriggerAssembly,
    string? ImplementationAssembly,
    string TypeName,
    IReadOnlyList<string> Sources);

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
        new("STACKEXCHANGEREDIS", "StackExchange.Redis", "TraceAgent.Instrumentation.StackExchangeRedis", "TraceAgent.Instrumentation.StackExchangeRedis.StackExchangeRedisInstrumentation", ["TraceAgent.StackExchangeRedis"]),
        new("KAFKA", "Confluent.Kafka", "TraceAgent.Instrumentation.ConfluentKafka", "TraceAgent.Instrumentation.ConfluentKafka.KafkaInstrumentation", ["TraceAgent.ConfluentKafka"]),
    ];

    public static IEnumerable<string> Ids => All.Select(d => d.Id);
}
