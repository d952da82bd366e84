using TraceAgent.Instrumentation;

namespace TraceAgent.Metrics;

/// <summary>One metrics instrumentation: its switch id and the meters it turns on.</summary>
internal sealed record MetricsInstrumentation(string Id, IReadOnlyList<string> Meters, string Mechanism);

/// <summary>
/// The hand-written list of metrics instrumentations (OTEL_DOTNET_AUTO_METRICS_{ID}_INSTRUMENTATION_ENABLED).
/// Most are meters the framework or the library publishes itself; StackExchange.Redis and
/// Confluent.Kafka have none, so the agent measures their operations from the spans it makes.
/// </summary>
internal static class MetricsInstrumentations
{
    public const string RuntimeMeter = "System.Runtime";

    public static readonly IReadOnlyList<MetricsInstrumentation> All =
    [
        new("ASPNETCORE", ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"], "meters"),
        new("HTTPCLIENT", ["System.Net.Http", "System.Net.NameResolution"], "meters"),
        new("NETRUNTIME", [RuntimeMeter], "meter"),
        new("NPGSQL", ["Npgsql"], "meter"),
        new(InstrumentationRegistry.RedisId, [InstrumentationRegistry.RedisSource], "from spans"),
        new(InstrumentationRegistry.KafkaId, [InstrumentationRegistry.KafkaSource], "from spans"),
    ];

    public static IEnumerable<string> Ids => All.Select(i => i.Id);
}
