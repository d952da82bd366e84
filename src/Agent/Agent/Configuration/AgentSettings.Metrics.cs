using System.Globalization;
using TraceAgent.Metrics;

namespace TraceAgent.Configuration;

/// <summary>Which temporality each kind of instrument is exported with (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE).</summary>
public enum TemporalityPreference
{
    Cumulative,
    Delta,
    LowMemory,
}

/// <summary>Which measurements may become exemplars (OTEL_METRICS_EXEMPLAR_FILTER).</summary>
public enum ExemplarFilter
{
    TraceBased,
    AlwaysOn,
    AlwaysOff,
}

public sealed record MetricsSettings(
    bool Enabled,
    IReadOnlyList<string> Exporters,
    int ExportIntervalMilliseconds,
    int ExportTimeoutMilliseconds,
    OtlpExporterSettings Otlp,
    TemporalityPreference Temporality,
    ExemplarFilter ExemplarFilter,
    IReadOnlyList<string> AdditionalSources,
    int CardinalityLimit,
    bool InstrumentationDefault,
    IReadOnlyDictionary<string, bool> InstrumentationSwitches)
{
    /// <summary>True when metrics are collected and sent somewhere.</summary>
    public bool Exported => Enabled && Exporters.Any(e => e != "none");

    /// <summary>A metrics instrumentation's switch (OTEL_DOTNET_AUTO_METRICS_{ID}_INSTRUMENTATION_ENABLED).</summary>
    public bool IsInstrumentationEnabled(string id) =>
        InstrumentationSwitches.TryGetValue(id, out var enabled) ? enabled : InstrumentationDefault;
}

public sealed partial class AgentSettings
{
    public MetricsSettings Metrics { get; private init; } = null!;

    private static MetricsSettings ReadMetrics(SettingsReader reader)
    {
        var otlp = ReadOtlp(reader, "METRICS", "/v1/metrics");
        var instrumentationDefault = reader.GetBool(ConfigurationKeys.MetricsInstrumentationEnabled, true);
        var switches = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var id in MetricsInstrumentations.Ids)
        {
            var key = ConfigurationKeys.MetricsInstrumentationSwitch(id);
            if (reader.GetString(key) is not null)
            {
                switches[id] = reader.GetBool(key, instrumentationDefault);
            }
        }

        // The specification's defaults: export every 60 s, give an export 30 s; a cardinality
        // limit of 2000 points per metric.
        return new MetricsSettings(
            reader.GetBool(ConfigurationKeys.MetricsEnabled, true),
            ReadNames(reader, ConfigurationKeys.MetricsExporter, ["otlp"], ["otlp", "console", "none"]),
            reader.GetInt(ConfigurationKeys.MetricExportInterval, 60000, 1),
            reader.GetInt(ConfigurationKeys.MetricExportTimeout, 30000, 1),
            otlp,
            ReadTemporality(reader),
            ReadExemplarFilter(reader),
            reader.GetList(ConfigurationKeys.MetricsAdditionalSources, []),
            reader.GetInt(ConfigurationKeys.MetricsCardinalityLimit, 2000, 2, 1_000_000),
            instrumentationDefault,
            switches);
    }

    private static TemporalityPreference ReadTemporality(SettingsReader reader)
    {
        var raw = reader.GetString(ConfigurationKeys.OtlpMetricsTemporality);
        switch (raw?.ToLowerInvariant())
        {
            case null:
            case "cumulative":
                return TemporalityPreference.Cumulative;
            case "delta":
                return TemporalityPreference.Delta;
            case "lowmemory":
                return TemporalityPreference.LowMemory;
            default:
                reader.Invalid(ConfigurationKeys.OtlpMetricsTemporality, raw, "is not cumulative, delta or lowmemory", "cumulative");
                return TemporalityPreference.Cumulative;
        }
    }

    private static ExemplarFilter ReadExemplarFilter(SettingsReader reader)
    {
        var raw = reader.GetString(ConfigurationKeys.MetricsExemplarFilter);
        switch (raw?.ToLowerInvariant())
        {
            case null:
            case "trace_based":
                return ExemplarFilter.TraceBased;
            case "always_on":
                return ExemplarFilter.AlwaysOn;
            case "always_off":
                return ExemplarFilter.AlwaysOff;
            default:
                reader.Invalid(ConfigurationKeys.MetricsExemplarFilter, raw, "is not trace_based, always_on or always_off", "trace_based");
                return ExemplarFilter.TraceBased;
        }
    }

    internal static string Describe(MetricsSettings metrics) => string.Create(
        CultureInfo.InvariantCulture,
        $"every {metrics.ExportIntervalMilliseconds} ms, {metrics.Temporality.ToString().ToLowerInvariant()}, exemplars {metrics.ExemplarFilter switch { ExemplarFilter.AlwaysOn => "always_on", ExemplarFilter.AlwaysOff => "always_off", _ => "trace_based" }}");
}
