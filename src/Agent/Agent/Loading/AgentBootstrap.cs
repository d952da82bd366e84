using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Instrumentation;
using TraceAgent.Logs;
using TraceAgent.Metrics;
using TraceAgent.Propagation;
using TraceAgent.Resources;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Loading;

/// <summary>
/// The agent's entry point, called by the startup hook once its guard rails have passed and its
/// resolver is installed: settings, resource, propagator, pipeline, instrumentations, shutdown.
/// </summary>
public static class AgentBootstrap
{
    private static readonly object Gate = new();
    private static TracingPipeline? s_pipeline;
    private static LazyInstrumentationLoader? s_loader;
    private static LogExport? s_logs;
    private static MetricsPipeline? s_metrics;
    private static int s_shutdownTimeout;
    private static int s_shutDown;
    private static IDisposable[] s_signals = [];

    /// <summary>The running pipeline's processor, for tests and benchmarks in this process.</summary>
    internal static BatchSpanProcessor? Processor => s_pipeline?.Processor;

    public static void Initialize(string agentDirectory)
    {
        var started = Stopwatch.GetTimestamp();
        var reader = SettingsReader.FromEnvironment();
        var preliminaryLevel = reader.GetString(ConfigurationKeys.LogLevel);
        AgentLog.Configure(
            preliminaryLevel is null ? AgentLogLevel.Info : ParseLevelQuietly(preliminaryLevel),
            reader.GetString(ConfigurationKeys.LogDirectory),
            toStderr: true);
        var settings = AgentSettings.Load(reader, InstrumentationRegistry.Ids, InstrumentationRegistry.LogsIds);
        if (!settings.TracesEnabled)
        {
            AgentLog.Info($"{ConfigurationKeys.TracesEnabled}=false: tracing is off");
            return;
        }

        lock (Gate)
        {
            if (s_pipeline is not null)
            {
                return;
            }

            Start(settings, agentDirectory, started);
        }
    }

    private static void Start(AgentSettings settings, string agentDirectory, long started)
    {
        var resource = ResourceBuilder.Build(settings);
        var serviceName = (string)resource.First(a => a.Key == "service.name").Value;
        var propagator = AgentPropagator.Create(settings.Propagators);
        DistributedContextPropagator.Current = propagator;

        // Keep the full URL in HttpClient's url.full so the agent can redact query values (keeping
        // the keys) itself; the runtime's own redaction drops the whole query.
        AppContext.SetSwitch("System.Net.Http.DisableUriRedaction", true);

        var metrics = MetricsPipeline.Create(settings, resource);
        var exporters = CreateExporters(settings, resource, serviceName);
        var processor = new BatchSpanProcessor(metrics?.Health.Measure(exporters, "traces") ?? exporters, settings.Batch, settings.Otlp.TimeoutMilliseconds);
        metrics?.Health.Observe(processor, "spans", "{span}");

        var enabled = new List<InstrumentationDescriptor>();
        var skipped = new List<string>();
        foreach (var descriptor in InstrumentationRegistry.All)
        {
            var on = descriptor.Signal == InstrumentationSignal.Logs
                ? settings.IsLogsInstrumentationEnabled(descriptor.Id)
                : settings.IsInstrumentationEnabled(descriptor.Id);
            if (on)
            {
                enabled.Add(descriptor);
            }
            else
            {
                skipped.Add(descriptor.Id + " (switched off)");
            }
        }

        var sources = enabled.SelectMany(d => d.Sources).Concat(settings.AdditionalSources);
        var sampler = Sampler.Create(settings.Sampler, settings.SamplerRatio);
        var pipeline = new TracingPipeline(sampler, processor, new SourceMatcher(sources), settings.SamplingPolicies);
        pipeline.Start();
        s_pipeline = pipeline;

        var logs = enabled.Any(d => d.Signal == InstrumentationSignal.Logs) ? CreateLogExport(settings, resource, metrics?.Health) : null;
        s_logs = logs;
        s_metrics = metrics;
        metrics?.Start();

        var loader = new LazyInstrumentationLoader(settings, propagator, pipeline, agentDirectory, enabled, logs);
        s_loader = loader;
        loader.Start();

        s_shutdownTimeout = Math.Min(settings.Otlp.TimeoutMilliseconds, 5000);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Shutdown();

        // SIGTERM does not raise ProcessExit unless the app handles it (a host does, and shuts
        // down gracefully, raising ProcessExit at the end). Flush what is queued now, without
        // stopping: if nothing else handles the signal, the process ends right after this.
        s_signals =
        [
            System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, _ => FlushAll(pipeline.Processor, logs, metrics)),
            System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, _ => FlushAll(pipeline.Processor, logs, metrics)),
        ];

        var elapsed = Stopwatch.GetElapsedTime(started);
        AgentLog.Info(Summary(settings, serviceName, exporters, pipeline.Sampling, enabled, skipped, logs, metrics, elapsed));
    }

    private static LogExport? CreateLogExport(AgentSettings settings, IReadOnlyList<KeyValuePair<string, object>> resource, AgentHealthMetrics? health)
    {
        if (!settings.Logs.Exporters.Contains("otlp"))
        {
            return null;
        }

        if (!TryLoadTls(settings.Logs.Otlp, "logs", out var tls))
        {
            return null;
        }

        var encoder = new OtlpLogEncoder(resource, settings.Limits);
        var exporter = new OtlpExporter<LogRecordData>(settings.Logs.Otlp, encoder.Encode, "logs", tls);
        var processor = new BatchExportProcessor<LogRecordData>(health?.Measure([exporter], "logs") ?? [exporter], settings.LogsBatch, settings.Logs.Otlp.TimeoutMilliseconds, "log records", "traceagent-logs-export");
        health?.Observe(processor, "log_records", "{log_record}");
        return new LogExport(processor, settings.Logs.IncludeFormattedMessage);
    }

    // Spans and log records are flushed side by side, each on its own export thread, so the
    // process waits for the slower of the two, not for their sum.
    private static void FlushAll(BatchSpanProcessor spans, LogExport? logs, MetricsPipeline? metrics)
    {
        var logFlush = logs is null ? null : Task.Run(() => logs.Processor.ForceFlush(s_shutdownTimeout));
        var metricsFlush = metrics is null ? null : Task.Run(() => metrics.ForceFlush(s_shutdownTimeout));
        spans.ForceFlush(s_shutdownTimeout);
        logFlush?.Wait(s_shutdownTimeout);
        metricsFlush?.Wait(s_shutdownTimeout);
    }

    /// <summary>Flushes queued spans, bounded by the export timeout (at most 5 s), and stops.</summary>
    public static void Shutdown()
    {
        if (Interlocked.Exchange(ref s_shutDown, 1) != 0)
        {
            return;
        }

        try
        {
            s_loader?.Dispose();
            foreach (var signal in s_signals)
            {
                signal.Dispose();
            }

            var pipeline = s_pipeline;
            if (pipeline is null)
            {
                return;
            }

            pipeline.Dispose();
            var logs = s_logs?.Processor;
            var logShutdown = logs is null ? null : Task.Run(() => logs.Shutdown(s_shutdownTimeout));
            var metrics = s_metrics;
            var metricsShutdown = metrics is null ? null : Task.Run(() => metrics.Shutdown(s_shutdownTimeout));
            pipeline.Processor.Shutdown(s_shutdownTimeout);
            logShutdown?.Wait(s_shutdownTimeout);
            metricsShutdown?.Wait(s_shutdownTimeout);
            AgentLog.Debug(string.Create(CultureInfo.InvariantCulture, $"shut down: {pipeline.Processor.ExportedCount} spans exported, {pipeline.Processor.DroppedCount} dropped, {pipeline.Processor.FailedCount} failed, {AgentFaults.Total} faults contained"));
            if (logs is not null)
            {
                AgentLog.Debug(string.Create(CultureInfo.InvariantCulture, $"shut down: {logs.ExportedCount} log records exported, {logs.DroppedCount} dropped, {logs.FailedCount} failed"));
            }
        }
        catch (Exception ex)
        {
            AgentLog.Warning($"shutdown: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static List<IExporter<Activity>> CreateExporters(AgentSettings settings, IReadOnlyList<KeyValuePair<string, object>> resource, string serviceName)
    {
        var exporters = new List<IExporter<Activity>>();
        foreach (var name in settings.TracesExporters)
        {
            switch (name)
            {
                case "otlp":
                    if (TryLoadTls(settings.Otlp, "traces", out var tls))
                    {
                        var encoder = new OtlpTraceEncoder(resource, settings.Limits);
                        exporters.Add(new OtlpExporter<Activity>(settings.Otlp, encoder.Encode, "traces", tls));
                    }

                    break;
                case "console":
                    exporters.Add(new ConsoleExporter(serviceName));
                    break;
                case "zipkin":
                    exporters.Add(new ZipkinExporter(settings.ZipkinEndpoint, serviceName, settings.Otlp.TimeoutMilliseconds));
                    break;
            }
        }

        return exporters;
    }

    /// <summary>Which of the agent's per-runtime builds the hook loaded, e.g. net8.0.</summary>
    private static string BuildName
    {
        get
        {
            var framework = typeof(AgentBootstrap).Assembly.GetCustomAttribute<System.Runtime.Versioning.TargetFrameworkAttribute>()?.FrameworkName;
            var version = framework is null ? -1 : framework.IndexOf("Version=v", StringComparison.Ordinal);
            return version < 0 ? "unknown" : "net" + framework![(version + 9)..];
        }
    }

    // TLS files are read once per set of paths: signals that share the generic variables share the
    // material, and a file that cannot be used is reported once, turning off every export that needs it.
    private static readonly Dictionary<OtlpTlsSettings, (Export.Transport.ExportTls? Tls, string? Error)> TlsByFiles = [];

    /// <summary>The exporter's TLS material; false (export off, reported once) when a file cannot be used.</summary>
    internal static bool TryLoadTls(OtlpExporterSettings settings, string signal, out Export.Transport.ExportTls tls)
    {
        tls = Export.Transport.ExportTls.SystemTrust;
        if (settings.Tls is null || settings.Endpoint.Scheme != Uri.UriSchemeHttps)
        {
            return true;
        }

        lock (TlsByFiles)
        {
            if (!TlsByFiles.TryGetValue(settings.Tls, out var loaded))
            {
                loaded = Export.Transport.ExportTls.TryLoad(settings.Tls, out var material, out var error) ? (material, null) : (null, error);
                TlsByFiles[settings.Tls] = loaded;
                if (loaded.Error is not null)
                {
                    AgentLog.Warning(loaded.Error + "; OTLP export is off for every signal that uses it (" + signal + " first)");
                }
            }

            if (loaded.Tls is null)
            {
                return false;
            }

            tls = loaded.Tls;
            return true;
        }
    }

    private static string Summary(AgentSettings settings, string serviceName, List<IExporter<Activity>> exporters, SamplingPolicy sampler, List<InstrumentationDescriptor> enabled, List<string> skipped, LogExport? logs, MetricsPipeline? metrics, TimeSpan elapsed)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"TraceAgent {ResourceBuilder.AgentVersion} ({BuildName} build) tracing service '{serviceName}'");
        text.Append("; exporters: ").Append(exporters.Count == 0 ? "none" : string.Join(", ", exporters.Select(e => e.Description)));
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
            text.Append(logs is null ? ", not exported" : ", exported to " + (settings.Logs.Otlp.Protocol == OtlpProtocol.Grpc ? "otlp/grpc " : "otlp/http ") + settings.Logs.Otlp.Endpoint);
            if (settings.Logs.Exporters.Contains("console"))
            {
                text.Append(" (OTEL_LOGS_EXPORTER=console is not supported: the app's own console logger already writes them)");
            }
        }

        text.Append("; metrics: ").Append(metrics?.Description ?? "off");
        text.Append(CultureInfo.InvariantCulture, $"; started in {elapsed.TotalMilliseconds:0} ms");
        return text.ToString();
    }

    private static AgentLogLevel ParseLevelQuietly(string raw) => raw.ToLowerInvariant() switch
    {
        "none" or "off" => AgentLogLevel.None,
        "error" => AgentLogLevel.Error,
        "warn" or "warning" => AgentLogLevel.Warning,
        "debug" => AgentLogLevel.Debug,
        _ => AgentLogLevel.Info,
    };
}
