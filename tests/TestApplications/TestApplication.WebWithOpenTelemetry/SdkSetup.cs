using OpenTelemetry.Trace;

/// <summary>
/// The OpenTelemetry SDK as its documentation sets it up for ASP.NET Core: the ASP.NET Core and
/// HttpClient instrumentations with their defaults, exported over OTLP as the OTEL_* variables say.
/// TestApplication.Web's Program.cs calls this only when compiled into this project.
/// </summary>
internal static class SdkSetup
{
    public static void Configure(IServiceCollection services) =>
        services
            .AddOpenTelemetry()
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
}
