using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>The environment a test app gets to run under the agent and export to a test receiver.</summary>
public static class AgentEnvironment
{
    public static Dictionary<string, string?> For(OtlpReceiver receiver, string serviceName, bool grpc = false)
    {
        return new Dictionary<string, string?>
        {
            ["DOTNET_STARTUP_HOOKS"] = RepoPaths.StartupHookPath,
            ["OTEL_SERVICE_NAME"] = serviceName,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = grpc ? receiver.GrpcEndpoint : receiver.HttpEndpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = grpc ? "grpc" : "http/protobuf",

            // Short batches so a test sees spans soon after they end.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_gcServer"] = "0",
        };
    }

    public static Dictionary<string, string?> With(this Dictionary<string, string?> environment, params (string Key, string? Value)[] values)
    {
        foreach (var (key, value) in values)
        {
            environment[key] = value;
        }

        return environment;
    }
}
