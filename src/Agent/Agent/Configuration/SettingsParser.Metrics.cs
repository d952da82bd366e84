using TraceAgent.Metrics;

namespace TraceAgent.Configuration;

/// <summary>The metrics variables (docs/metrics.md).</summary>
internal static partial class SettingsParser
{
    private static MetricsSettings ReadMetrics(SettingsReader reader)
    {
        var otlp = ReadOtlp(reader, "METRICS", "/v1/metrics");
        var instrumentationDefault = reader.GetBool(ConfigurationKeys.MetricsInstrumentationEnabled, true);
        var switches = ReadSwitches(reader, MetricsInstrumentations.Ids, ConfigurationKeys.MetricsInstrumentationSwitch, instrumentationDefault);

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
}
