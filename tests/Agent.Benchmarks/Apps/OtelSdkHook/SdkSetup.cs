using System.Diagnostics;
using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace OtelSdkHook;

/// <summary>What a user writes by hand: the OTLP endpoint, protocol and service name come from the OTEL_* variables.</summary>
internal static class SdkSetup
{
    private static TracerProvider? s_provider;
    private static MeterProvider? s_meters;

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out var value) ? value : fallback;

    public static void Start()
    {
        var traces = Sdk.CreateTracerProviderBuilder()
            .AddAspNetCoreInstrumentation()
            .AddHttpClientInstrumentation()
            .AddSource("Npgsql");

        // The per-operation part's sources (BENCH_SDK_SOURCES, comma-separated), and its reference
        // with no exporter (OTEL_TRACES_EXPORTER=none: spans made and batched, nothing sent), as
        // for the agent.
        foreach (var source in (Environment.GetEnvironmentVariable("BENCH_SDK_SOURCES") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            traces.AddSource(source);
        }

        if (Environment.GetEnvironmentVariable("OTEL_TRACES_EXPORTER") == "none")
        {
            // The queue and delay the OTLP exporter's processor would read from OTEL_BSP_*.
            traces.AddProcessor(new BatchActivityExportProcessor(new NoExporter(), Setting("OTEL_BSP_MAX_QUEUE_SIZE", 2048), Setting("OTEL_BSP_SCHEDULE_DELAY", 5000)));
        }
        else
        {
            traces.AddOtlpExporter();
        }

        s_provider = traces.Build();

        // The benchmark's metrics reference (BENCH_SDK_METRICS=1): the meters the agent turns on by
        // default, exported over OTLP at the SDK's default interval (60 s), as the agent's are.
        if (Environment.GetEnvironmentVariable("BENCH_SDK_METRICS") == "1")
        {
            s_meters = Sdk.CreateMeterProviderBuilder()
                .AddMeter(DefaultMeters.Names)
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

/// <summary>Takes every batch and sends nothing: the SDK's batching without an export.</summary>
internal sealed class NoExporter : BaseExporter<Activity>
{
    public override ExportResult Export(in Batch<Activity> batch) => ExportResult.Success;
}
