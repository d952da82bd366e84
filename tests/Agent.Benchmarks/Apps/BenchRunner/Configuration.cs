namespace TraceAgent.Bench;

internal enum Tracer
{
    None,
    Agent,
    SdkHook,

    /// <summary>No tracer: a bare listener on the frameworks' own sources (OtelSdkHook's BENCH_FLOOR mode).</summary>
    Floor,
}

/// <summary>
/// One way of running the benchmark apps: no tracing, the agent with some settings, or the
/// OpenTelemetry SDK wired in by a startup hook; on .NET 10 or (self-contained) .NET 8. Every
/// ratio is taken against <see cref="BaselineKey"/> measured in the same round.
/// </summary>
internal sealed record Configuration(string Key, string Label, string Runtime, Tracer Tracer, IReadOnlyDictionary<string, string> Settings)
{
    public const string Net10 = "net10";
    public const string Net8 = "net8";

    /// <summary>The agent built elsewhere (--base-agent), for the paired comparison <c>change</c>.</summary>
    public const string BaseAgentKey = "agent-base";

    public string BaselineKey => Runtime == Net8 ? "net8-none" : "none";

    public bool IsBaseline => Key == BaselineKey;

    /// <summary>What the sink should receive from this configuration's processes.</summary>
    public SpansExpected Spans =>
        Tracer is Tracer.None or Tracer.Floor
        || Settings.GetValueOrDefault("OTEL_TRACES_SAMPLER") == "always_off"
        || Settings.GetValueOrDefault("OTEL_TRACES_EXPORTER") == "none"
            ? SpansExpected.None
            : Settings.ContainsKey("OTEL_TRACES_SAMPLER_ARG") ? SpansExpected.Few : SpansExpected.Every;

    /// <summary>
    /// Spans per /work request at 100%, api and peer together: the OpenTelemetry SDK set-up (and the
    /// agent with its Redis instrumentation off) makes no Redis span.
    /// </summary>
    public int SpansPerRequest =>
        Tracer == Tracer.SdkHook || Settings.ContainsKey("OTEL_DOTNET_AUTO_TRACES_STACKEXCHANGEREDIS_INSTRUMENTATION_ENABLED") ? 4 : 5;

    /// <summary>
    /// The process environment: OTLP goes to the runner's sink under a path of its own
    /// (<paramref name="route"/>), so that what each process sends is counted apart.
    /// </summary>
    public Dictionary<string, string> Environment(BenchOptions options, string sinkBase, string route, string serviceName)
    {
        var env = new Dictionary<string, string>();
        if (Tracer == Tracer.None)
        {
            return env;
        }

        env["DOTNET_STARTUP_HOOKS"] = Tracer != Tracer.Agent ? options.SdkHook : Key == BaseAgentKey ? options.BaseAgentHook : options.AgentHook;

        // The floor exports nothing: no OTEL_* variable means anything to it.
        if (Tracer != Tracer.Floor)
        {
            env["OTEL_SERVICE_NAME"] = serviceName;
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sinkBase + "/" + route;
            env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = sinkBase + "/" + route + "/v1/traces";
        }

        if (Tracer == Tracer.Agent)
        {
            // Tracing alone: metrics (on by default) have a configuration of their own, so that
            // each cost shows apart.
            env["OTEL_METRICS_EXPORTER"] = "none";
        }

        foreach (var (key, value) in Settings)
        {
            env[key] = value;
        }

        return env;
    }

    public string App(BenchOptions options, string app) => Runtime == Net8
        ? Path.Combine(options.Artifacts, app + "-net8", app)
        : Path.Combine(options.Artifacts, app, app + ".dll");
}

/// <summary>No span at all, a few sampled traces (a ratio), or every request's spans.</summary>
internal enum SpansExpected
{
    None,
    Few,
    Every,
}

/// <summary>The configurations the suite knows, by key.</summary>
internal static class Configurations
{
    private static readonly Dictionary<string, string> NoSettings = [];

    /// <summary>The load part's default set: the configurations, and .NET 8 beside .NET 10.</summary>
    public static readonly string[] DefaultLoad = ["none", "agent", "agent-metrics", "sdk", "off", "ratio1", "ratio1-keep", "net8-none", "net8-agent", "net8-agent-datas"];

    public static readonly string[] DefaultStartup = ["none", "none-again", "agent", "agent-metrics", "agent-no-instr", "sdk", "net8-none", "net8-agent"];

    public static IReadOnlyList<Configuration> All { get; } =
    [
        new("none", "no agent", Configuration.Net10, Tracer.None, NoSettings),
        new("agent", "agent, 100% sampling", Configuration.Net10, Tracer.Agent, NoSettings),
        new("sdk", "OpenTelemetry SDK 1.20 (startup hook)", Configuration.Net10, Tracer.SdkHook, NoSettings),
        new("off", "agent, sampler off (always_off)", Configuration.Net10, Tracer.Agent, new Dictionary<string, string>
        {
            ["OTEL_TRACES_SAMPLER"] = "always_off",
        }),
        new("ratio1", "agent, 1% (parentbased_traceidratio 0.01)", Configuration.Net10, Tracer.Agent, new Dictionary<string, string>
        {
            ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio",
            ["OTEL_TRACES_SAMPLER_ARG"] = "0.01",
        }),
        new("ratio1-keep", "agent, 1%, TRACEAGENT_SAMPLER_KEEP_ERRORS=true", Configuration.Net10, Tracer.Agent, new Dictionary<string, string>
        {
            ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio",
            ["OTEL_TRACES_SAMPLER_ARG"] = "0.01",
            ["TRACEAGENT_SAMPLER_KEEP_ERRORS"] = "true",
        }),
        // The agent as a user gets it: metrics exported too, every 60 s (the default interval).
        new("agent-metrics", "agent, 100%, with metrics (default interval)", Configuration.Net10, Tracer.Agent, new Dictionary<string, string>
        {
            ["OTEL_METRICS_EXPORTER"] = "otlp",
        }),
        // The start-up part's calibration: a second no-agent start, paired like the others. Its
        // spread is the method's own; a target tighter than it cannot be met in every run.
        new(Configuration.BaseAgentKey, "the agent given by --base-agent, 100% sampling", Configuration.Net10, Tracer.Agent, NoSettings),
        new("none-again", "no agent, a second start (the method's own spread)", Configuration.Net10, Tracer.None, NoSettings),
        new("agent-no-instr", "agent, every instrumentation off", Configuration.Net10, Tracer.Agent, new Dictionary<string, string>
        {
            ["OTEL_DOTNET_AUTO_TRACES_INSTRUMENTATION_ENABLED"] = "false",
            ["OTEL_DOTNET_AUTO_LOGS_INSTRUMENTATION_ENABLED"] = "false",
        }),

        // Not in the default sets (--configs picks them): the agent making only the spans the SDK
        // set-up makes (no Redis span), the agent also exporting the log record /work writes, the
        // agent recording spans but exporting none (what export itself costs, memory above all),
        // and the SDK set-up with its sampler off or with metrics.
        new("agent-sdk-spans", "agent, 100%, the SDK's spans only (Redis off)", Configuration.Net10, Tracer.Agent, new Dictionary<string, string>
        {
            ["OTEL_DOTNET_AUTO_TRACES_STACKEXCHANGEREDIS_INSTRUMENTATION_ENABLED"] = "false",
        }),
        new("agent-logs", "agent, 100%, with OTLP log export", Configuration.Net10, Tracer.Agent, new Dictionary<string, string>
        {
            ["OTEL_LOGS_EXPORTER"] = "otlp",
        }),
        new("agent-no-export", "agent, 100%, no exporter (OTEL_TRACES_EXPORTER=none)", Configuration.Net10, Tracer.Agent, new Dictionary<string, string>
        {
            ["OTEL_TRACES_EXPORTER"] = "none",
        }),

        // The paired part's reference for the sampler-off row: what the SDK set-up costs with the
        // same sampler, the listeners and propagation every tracer keeps when it records nothing.
        new("sdk-off", "OpenTelemetry SDK 1.20 (startup hook), sampler off (always_off)", Configuration.Net10, Tracer.SdkHook, new Dictionary<string, string>
        {
            ["OTEL_TRACES_SAMPLER"] = "always_off",
        }),

        // The same for the metrics row: the SDK set-up with a MeterProvider on the meters the agent
        // turns on by default (OtelSdkHook, BENCH_SDK_METRICS), exporting OTLP every 60 s.
        new("sdk-metrics", "OpenTelemetry SDK 1.20 (startup hook), with metrics (the same meters, 60 s)", Configuration.Net10, Tracer.SdkHook, new Dictionary<string, string>
        {
            ["BENCH_SDK_METRICS"] = "1",
        }),

        // The floor under every tracer built on the runtime's ActivitySource: a listener on the
        // frameworks' own sources (ASP.NET Core, HttpClient, Npgsql) that samples their spans and
        // does nothing else, so that the frameworks make, tag, propagate and stop them as they do
        // for any tracer. Recording every span, and propagating only (a sampler that is off).
        new("floor", "no tracer, a listener recording the frameworks' spans (the floor)", Configuration.Net10, Tracer.Floor, new Dictionary<string, string>
        {
            ["BENCH_FLOOR"] = "record",
        }),
        new("floor-off", "no tracer, a listener propagating the frameworks' context, recording nothing", Configuration.Net10, Tracer.Floor, new Dictionary<string, string>
        {
            ["BENCH_FLOOR"] = "propagate",
        }),

        // The same floor for metrics: the listener recording the frameworks' spans, and a
        // MeterListener on the meters the agent turns on by default that does nothing with what
        // they measure.
        new("floor-metrics", "no tracer, the floor's listener and a listener on the same meters, recording nothing", Configuration.Net10, Tracer.Floor, new Dictionary<string, string>
        {
            ["BENCH_FLOOR"] = "record",
            ["BENCH_FLOOR_METRICS"] = "1",
        }),

        new("net8-none", ".NET 8: no agent", Configuration.Net8, Tracer.None, NoSettings),
        new("net8-agent", ".NET 8: agent, 100% sampling", Configuration.Net8, Tracer.Agent, NoSettings),

        // .NET 8's server GC lets generation 0 grow to a fixed budget (tens of MB) before it
        // collects; .NET 9 and later adapt it to the app (DATAS), and .NET 8 does so on request.
        // A peer that allocates nothing per request never reaches that budget without the agent,
        // and does with it: this row shows the agent's memory under the GC a .NET 9 app has.
        new("net8-agent-datas", ".NET 8: agent, 100%, DOTNET_GCDynamicAdaptationMode=1", Configuration.Net8, Tracer.Agent, new Dictionary<string, string>
        {
            ["DOTNET_GCDynamicAdaptationMode"] = "1",
        }),
    ];

    public static Configuration Get(string key) => Keyed.Find(All, c => c.Key, key, "configuration");

    /// <summary>The requested set in order, each with its baseline, without .NET 8 when it is left out.</summary>
    public static List<Configuration> Select(IEnumerable<string> keys, bool withNet8)
    {
        var chosen = new List<Configuration>();
        foreach (var key in keys)
        {
            var configuration = Get(key);
            if (configuration.Runtime == Configuration.Net8 && !withNet8)
            {
                continue;
            }

            foreach (var needed in new[] { configuration.BaselineKey, key })
            {
                if (chosen.All(c => c.Key != needed))
                {
                    chosen.Add(Get(needed));
                }
            }
        }

        return chosen;
    }
}
