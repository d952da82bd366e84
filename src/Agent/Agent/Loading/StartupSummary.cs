using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Instrumentation;
using TraceAgent.Logs;
using TraceAgent.Metrics;
using TraceAgent.Resources;
using TraceAgent.Sampling;

namespace TraceAgent.Loading;

/// <summary>
/// The one info line the agent writes when it has started: what it traces, where it sends it, what
/// is off. Tests and users read it; its wording and order are part of the agent's behaviour.
/// </summary>
internal static class StartupSummary
{
    /// <summary>Which of the agent's per-runtime builds the hook loaded, e.g. net8.0.</summary>
    private static string BuildName
    {
        get
        {
            var framework = typeof(StartupSummary).Assembly.GetCustomAttribute<System.Runtime.Versioning.TargetFrameworkAttribute>()?.FrameworkName;
            var version = framework is null ? -1 : framework.IndexOf("Version=v", StringComparison.Ordinal);
            return version < 0 ? "unknown" : "net" + framework![(version + 9)..];
        }
    }

    public static string Describe(AgentSettings settings, string serviceName, IReadOnlyList<string> exporters, SamplingPolicy sampler, IReadOnlyList<InstrumentationDescriptor> enabled, IReadOnlyList<string> skipped, LogExport? logs, MetricsPipeline? metrics, TimeSpan elapsed)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"TraceAgent {ResourceBuilder.AgentVersion} ({BuildName} build) tracing service '{serviceName}'");
        text.Append("; exporters: ").Append(exporters.Count == 0 ? "none" : string.Join(", ", exporters));
        if (settings.Otlp.Headers.Count > 0 && settings.TracesExporters.Contains("otlp"))
        {
            // Header values are secrets: names only.
            text.Append(" (headers: ").Append(string.Join(", ", settings.Otlp.Headers.Select(h => h.Key))).Append(')');
        }

        text.Append("; sampler: ").Append(sampler.Description);
        text.Append("; propagators: ").Append(string.Join(",", settings.Propagators));
        text.Append("; instrumentations: ").Append(string.Join(", ", enabled.Select(d => d.Id + " (when " + d.TriggerAssembly + " loads)")));
        if (skipped.Count > 0)
        {
            text.Append("; off: ").Append(string.Join(", ", skipped));
        }

        if (settings.AdditionalSources.Count > 0)
        {
            text.Append("; additional sources: ").Append(string.Join(",", settings.AdditionalSources));
        }

        if (enabled.Any(d => d.Signal == InstrumentationSignal.Logs))
        {
            // ILogger is reached through hosts only: a LoggerFactory made by hand has no hook.
            text.Append("; logs: trace ids in ILogger scopes of generic hosts");
            text.Append(logs is null ? ", not exported" : ", exported to " + (settings.Logs.Otlp.Protocol == OtlpProtocol.Grpc ? "otlp/grpc " : "otlp/http ") + EndpointDisplay.Of(settings.Logs.Otlp.Endpoint));
            if (settings.Logs.Exporters.Contains("console"))
            {
                text.Append(" (OTEL_LOGS_EXPORTER=console is not supported: the app's own console logger already writes them)");
            }
        }

        text.Append("; metrics: ").Append(metrics?.Description ?? "off");
        text.Append("; started in ").Append(elapsed.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)).Append(" ms");
        return text.ToString();
    }
}
