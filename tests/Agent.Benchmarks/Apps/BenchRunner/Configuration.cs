namespace TraceAgent.Bench;

/// <summary>One way of running the sample API: no tracing, the agent, or the in-code SDK.</summary>
internal sealed record Configuration(string Key, string Label, string Dll, IReadOnlyDictionary<string, string> Environment)
{
    public static Configuration None(BenchOptions options) =>
        new("none", "no agent", options.PlainApp, new Dictionary<string, string>());

    public static Configuration Agent(BenchOptions options, string otlpEndpoint, double? ratio = null)
    {
        var env = new Dictionary<string, string>
        {
            ["DOTNET_STARTUP_HOOKS"] = options.AgentHook,
            ["OTEL_SERVICE_NAME"] = "bench-api",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_LOG_LEVEL"] = "info",

            // Tracing alone; metrics (on by default) have their own row, so each cost shows apart.
            ["OTEL_METRICS_EXPORTER"] = "none",
        };
        if (ratio is double r)
        {
            env["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio";
            env["OTEL_TRACES_SAMPLER_ARG"] = r.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return new("agent10", "agent, 10% sampling", options.PlainApp, env);
        }

        return new("agent", "agent, 100% sampling", options.PlainApp, env);
    }

    /// <summary>
    /// The agent making the same spans as the in-code SDK set-up (ASP.NET Core, HttpClient and
    /// Npgsql; no OpenTelemetry instrumentation of StackExchange.Redis is published, so the SDK
    /// variant makes no Redis spans), so the two compare like for like.
    /// </summary>
    public static Configuration AgentSameSpans(BenchOptions options, string otlpEndpoint)
    {
        var env = Agent(options, otlpEndpoint).With(new Dictionary<string, string>
        {
            ["OTEL_DOTNET_AUTO_TRACES_STACKEXCHANGEREDIS_INSTRUMENTATION_ENABLED"] = "false",
            ["OTEL_DOTNET_AUTO_TRACES_KAFKA_INSTRUMENTATION_ENABLED"] = "false",
            ["OTEL_DOTNET_AUTO_LOGS_ILOGGER_INSTRUMENTATION_ENABLED"] = "false",
        });
        return new("agenthttp", "agent, 100%, the SDK's spans only (no Redis)", options.PlainApp, env);
    }

    /// <summary>The agent at 100% sampling also exporting the one log record /work writes per request.</summary>
    public static Configuration AgentWithLogs(BenchOptions options, string otlpEndpoint)
    {
        var env = Agent(options, otlpEndpoint).With(new Dictionary<string, string> { ["OTEL_LOGS_EXPORTER"] = "otlp" });
        return new("agentlogs", "agent, 100%, with OTLP log export", options.PlainApp, env);
    }

    /// <summary>
    /// The agent at 100% sampling with metrics exported as a user gets them by default (every
    /// meter the agent collects, 60 s interval): its CPU per request against the "agent" row's is
    /// what metrics add on top of tracing.
    /// </summary>
    public static Configuration AgentWithMetrics(BenchOptions options, string otlpEndpoint)
    {
        var env = Agent(options, otlpEndpoint).With(new Dictionary<string, string> { ["OTEL_METRICS_EXPORTER"] = "otlp" });
        return new("agentmetrics", "agent, 100%, with metrics (default interval)", options.PlainApp, env);
    }

    public static Configuration Sdk(BenchOptions options, string otlpEndpoint) =>
        new("sdk", "in-code OpenTelemetry SDK", options.SdkApp, new Dictionary<string, string>
        {
            ["OTEL_SERVICE_NAME"] = "bench-api",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });

    public Dictionary<string, string> With(IReadOnlyDictionary<string, string> extra)
    {
        var env = new Dictionary<string, string>(Environment);
        foreach (var (key, value) in extra)
        {
            env[key] = value;
        }

        return env;
    }
}
