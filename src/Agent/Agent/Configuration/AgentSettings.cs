using TraceAgent.Diagnostics;

namespace TraceAgent.Configuration;

/// <summary>
/// Everything the agent is told by its environment, parsed once at start-up by
/// <see cref="SettingsParser"/> and never changed after. Instrumentations do not see this object:
/// each receives its own slice (InstrumentationSettings.cs), chosen by its registry line.
/// </summary>
public sealed class AgentSettings
{
    internal AgentSettings()
    {
    }

    public string? ServiceName { get; internal init; }

    public IReadOnlyList<KeyValuePair<string, string>> ResourceAttributes { get; internal init; } = [];

    public bool TracesEnabled { get; internal init; }

    public IReadOnlyList<string> TracesExporters { get; internal init; } = [];

    public OtlpExporterSettings Otlp { get; internal init; } = null!;

    public Uri ZipkinEndpoint { get; internal init; } = null!;

    public string Sampler { get; internal init; } = "parentbased_always_on";

    public double SamplerRatio { get; internal init; } = 1.0;

    public SamplingPolicySettings SamplingPolicies { get; internal init; } = SamplingPolicySettings.None;

    public IReadOnlyList<string> Propagators { get; internal init; } = [];

    public BatchSettings Batch { get; internal init; } = null!;

    /// <summary>The batch log record processor's settings (OTEL_BLRP_*).</summary>
    public BatchSettings LogsBatch { get; internal init; } = null!;

    public SpanLimits Limits { get; internal init; } = null!;

    /// <summary>The agent's own log (OTEL_LOG_LEVEL), applied by the bootstrap as soon as the settings are read.</summary>
    public AgentLogLevel LogLevel { get; internal init; }

    /// <summary>Where the agent's own log is also written (OTEL_DOTNET_AUTO_LOG_DIRECTORY); null: stderr only.</summary>
    public string? LogDirectory { get; internal init; }

    public bool FailFast { get; internal init; }

    public IReadOnlyList<string> AdditionalSources { get; internal init; } = [];

    public AspNetCoreSettings AspNetCore { get; internal init; } = null!;

    public HttpClientSettings HttpClient { get; internal init; } = null!;

    public DatabaseSettings Database { get; internal init; } = null!;

    public RedisSettings Redis { get; internal init; } = null!;

    public KafkaSettings Kafka { get; internal init; } = null!;

    public LogsSettings Logs { get; internal init; } = null!;

    public MetricsSettings Metrics { get; internal init; } = null!;

    internal bool InstrumentationDefault { get; init; }

    internal IReadOnlyDictionary<string, bool> InstrumentationSwitches { get; init; } = new Dictionary<string, bool>();

    internal bool LogsInstrumentationDefault { get; init; }

    internal IReadOnlyDictionary<string, bool> LogsInstrumentationSwitches { get; init; } = new Dictionary<string, bool>();

    /// <summary>A tracing instrumentation's switch (OTEL_DOTNET_AUTO_TRACES_{ID}_INSTRUMENTATION_ENABLED).</summary>
    public bool IsInstrumentationEnabled(string id) =>
        InstrumentationSwitches.TryGetValue(id, out var enabled) ? enabled : InstrumentationDefault;

    /// <summary>A logs instrumentation's switch; every one is off when OTEL_DOTNET_AUTO_LOGS_ENABLED=false.</summary>
    public bool IsLogsInstrumentationEnabled(string id) =>
        Logs.Enabled && (LogsInstrumentationSwitches.TryGetValue(id, out var enabled) ? enabled : LogsInstrumentationDefault);

    /// <summary>Parses every setting from <paramref name="reader"/> (see <see cref="SettingsParser.Parse"/>).</summary>
    public static AgentSettings Load(SettingsReader reader, IEnumerable<string> instrumentationIds, IEnumerable<string>? logsInstrumentationIds = null) =>
        SettingsParser.Parse(reader, instrumentationIds, logsInstrumentationIds ?? []);
}
