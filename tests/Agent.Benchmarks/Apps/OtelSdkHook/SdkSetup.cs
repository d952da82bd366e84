using OpenTelemetry;
using OpenTelemetry.Trace;

namespace OtelSdkHook;

/// <summary>What a user writes by hand: the OTLP endpoint, protocol and service name come from the OTEL_* variables.</summary>
internal static class SdkSetup
{
    private static TracerProvider? s_provider;

    public static void Start()
    {
        s_provider = Sdk.CreateTracerProviderBuilder()
            .AddAspNetCoreInstrumentation()
            .AddHttpClientInstrumentation()
            .AddSource("Npgsql")
            .AddOtlpExporter()
            .Build();

        // Flush what is queued when the app ends, as the SDK's hosting integration would.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => s_provider?.Dispose();
    }
}
