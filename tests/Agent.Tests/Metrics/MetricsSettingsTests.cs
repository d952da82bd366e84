using TraceAgent.Configuration;
using TraceAgent.Instrumentation;

namespace TraceAgent.Tests.Metrics;

public sealed class MetricsSettingsTests
{
    private static (MetricsSettings Metrics, IReadOnlyList<string> Warnings) Load(params (string Key, string Value)[] values)
    {
        var reader = new SettingsReader(values.ToDictionary(v => v.Key, v => v.Value));
        return (AgentSettings.Load(reader, InstrumentationRegistry.Ids).Metrics, reader.Warnings);
    }

    [Fact]
    public void Defaults_follow_the_specification()
    {
        var (metrics, warnings) = Load();
        Assert.Empty(warnings);
        Assert.True(metrics.Exported);
        Assert.Equal(["otlp"], metrics.Exporters);
        Assert.Equal(60000, metrics.ExportIntervalMilliseconds);
        Assert.Equal(30000, metrics.ExportTimeoutMilliseconds);
        Assert.Equal(new Uri("http://localhost:4318/v1/metrics"), metrics.Otlp.Endpoint);
        Assert.Equal(OtlpProtocol.HttpProtobuf, metrics.Otlp.Protocol);
        Assert.Equal(TemporalityPreference.Cumulative, metrics.Temporality);
        Assert.Equal(ExemplarFilter.TraceBased, metrics.ExemplarFilter);
        Assert.Equal(2000, metrics.CardinalityLimit);
        Assert.True(metrics.IsInstrumentationEnabled("ASPNETCORE"));
        Assert.True(metrics.IsInstrumentationEnabled("NETRUNTIME"));
    }

    [Fact]
    public void Metrics_variables_override_the_generic_ones()
    {
        var (metrics, warnings) = Load(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-generic=1"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4317"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-metrics=2"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "1500"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "LowMemory"),
            ("OTEL_METRICS_EXEMPLAR_FILTER", "always_on"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "5000"),
            ("OTEL_METRICS_EXPORTER", "otlp,console"),
            ("OTEL_DOTNET_AUTO_METRICS_INSTRUMENTATION_ENABLED", "false"),
            ("OTEL_DOTNET_AUTO_METRICS_NPGSQL_INSTRUMENTATION_ENABLED", "true"),
            ("OTEL_DOTNET_AUTO_METRICS_ADDITIONAL_SOURCES", "MyCompany.*,Orders"));
        Assert.Empty(warnings);
        Assert.Equal(new Uri("http://metrics:4317"), metrics.Otlp.Endpoint);
        Assert.Equal(OtlpProtocol.Grpc, metrics.Otlp.Protocol);
        Assert.Equal([new KeyValuePair<string, string>("x-metrics", "2")], metrics.Otlp.Headers);
        Assert.Equal(1500, metrics.Otlp.TimeoutMilliseconds);
        Assert.True(metrics.Otlp.Gzip);
        Assert.Equal(TemporalityPreference.LowMemory, metrics.Temporality);
        Assert.Equal(ExemplarFilter.AlwaysOn, metrics.ExemplarFilter);
        Assert.Equal(15000, metrics.ExportIntervalMilliseconds);
        Assert.Equal(5000, metrics.ExportTimeoutMilliseconds);
        Assert.Equal(["otlp", "console"], metrics.Exporters);
        Assert.False(metrics.IsInstrumentationEnabled("ASPNETCORE"));
        Assert.True(metrics.IsInstrumentationEnabled("NPGSQL"));
        Assert.Equal(["MyCompany.*", "Orders"], metrics.AdditionalSources);
    }

    [Fact]
    public void The_generic_endpoint_gets_the_metrics_path()
    {
        var (metrics, _) = Load(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base/"));
        Assert.Equal(new Uri("http://collector:4318/base/v1/metrics"), metrics.Otlp.Endpoint);
    }

    [Theory]
    [InlineData("OTEL_METRICS_EXPORTER", "prometheus", "otlp")]
    [InlineData("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes", "cumulative")]
    [InlineData("OTEL_METRICS_EXEMPLAR_FILTER", "sampled", "trace_based")]
    [InlineData("OTEL_METRIC_EXPORT_INTERVAL", "0", "60000")]
    [InlineData("OTEL_METRIC_EXPORT_TIMEOUT", "soon", "30000")]
    [InlineData("TRACEAGENT_METRICS_CARDINALITY_LIMIT", "1", "2000")]
    [InlineData("OTEL_DOTNET_AUTO_METRICS_ENABLED", "maybe", "true")]
    public void A_bad_value_is_one_warning_naming_the_variable_and_the_value_used(string key, string value, string used)
    {
        var (_, warnings) = Load((key, value));
        var warning = Assert.Single(warnings);
        Assert.StartsWith($"{key}='{value}'", warning, StringComparison.Ordinal);
        Assert.EndsWith("using " + used, warning, StringComparison.Ordinal);
    }

    [Fact]
    public void None_or_disabled_means_no_metrics()
    {
        Assert.False(Load(("OTEL_METRICS_EXPORTER", "none")).Metrics.Exported);
        Assert.False(Load(("OTEL_DOTNET_AUTO_METRICS_ENABLED", "false")).Metrics.Exported);
    }
}
