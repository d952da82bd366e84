using System.Globalization;

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

    /// <summary>The part of the start-up summary's metrics entry that these settings decide.</summary>
    internal string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"every {ExportIntervalMilliseconds} ms, {Temporality.ToString().ToLowerInvariant()}, exemplars {ExemplarFilter switch { ExemplarFilter.AlwaysOn => "always_on", ExemplarFilter.AlwaysOff => "always_off", _ => "trace_based" }}");
}
