using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace OtelSdkHook;

/// <summary>What a user writes by hand: the OTLP endpoint, protocol and service name come from the OTEL_* variables.</summary>
internal static class SdkSetup
{
    private static TracerProvider? s_provider;
    private static MeterProvider? s_meters;

    public static void Start()
    {
        s_provider = Sdk.CreateTracerProviderBuilder()
            .AddAspNetCoreInstrumentation()
            .AddHttpClientInstrumentation()
            .AddSource("Npgsql")
            .AddOtlpExporter()
            .Build();

        // The benchmark's metrics reference (BENCH_SDK_METRICS=1): the meters the agent turns on by
        // default, exported over OTLP at the SDK's default interval (60 s), as the agent's are.
        if (Environment.GetEnvironmentVariable("BENCH_SDK_METRICS") == "1")
        {
            s_meters = Sdk.CreateMeterProviderBuilder()
                .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "System.Net.NameResolution", "System.Runtime", "Npgsql")
                .AddOtlpExporter()
                .Build();
        }

        // Flush what is queued when the app ends, as the SDK's hosting integration would.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            s_provider?.Dispose();
            s_meters?.Dispose();
        };
    }
}
