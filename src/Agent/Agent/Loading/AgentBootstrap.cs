using System.Diagnostics;
using System.Globalization;
using System.Text;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Instrumentation;
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
    private static readonly Lock Gate = new();
    private static TracingPipeline? s_pipeline;
    private static LazyInstrumentationLoader? s_loader;
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
        var settings = AgentSettings.Load(reader, InstrumentationRegistry.Ids);
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

        var exporters = CreateExporters(settings, resource, serviceName);
        var processor = new BatchSpanProcessor(exporters, settings.Batch, settings.Otlp.TimeoutMilliseconds);

        var enabled = new List<InstrumentationDescriptor>();
        var skipped = new List<string>();
        foreach (var descriptor in InstrumentationRegistry.All)
        {
            if (settings.IsInstrumentationEnabled(descriptor.Id))
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
        var pipeline = new TracingPipeline(sampler, processor, new SourceMatcher(sources));
        pipeline.Start();
        s_pipeline = pipeline;

        var loader = new LazyInstrumentationLoader(settings, propagator, pipeline, agentDirectory, enabled);
        s_loader = loader;
        loader.Start();

        s_shutdownTimeout = Math.Min(settings.Otlp.TimeoutMilliseconds, 5000);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Shutdown();

        // SIGTERM does not raise ProcessExit unless the app handles it (a host does, and shuts
        // down gracefully, raising ProcessExit at the end). Flush what is queued now, without
        // stopping: if nothing else handles the signal, the process ends right after this.
        s_signals =
        [
            System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, _ => pipeline.Processor.ForceFlush(s_shutdownTimeout)),
            System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, _ => pipeline.Processor.ForceFlush(s_shutdownTimeout)),
        ];

        var elapsed = Stopwatch.GetElapsedTime(started);
        AgentLog.Info(Summary(settings, serviceName, exporters, sampler, enabled, skipped, elapsed));
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
            pipeline.Processor.Shutdown(s_shutdownTimeout);
            AgentLog.Debug(string.Create(CultureInfo.InvariantCulture, $"shut down: {pipeline.Processor.ExportedCount} spans exported, {pipeline.Processor.DroppedCount} dropped, {pipeline.Processor.FailedCount} failed, {AgentFaults.Total} faults contained"));
        }
        catch (Exception ex)
        {
            AgentLog.Warning($"shutdown: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static List<ISpanExporter> CreateExporters(AgentSettings settings, IReadOnlyList<KeyValuePair<string, object>> resource, string serviceName)
    {
        var exporters = new List<ISpanExporter>();
        foreach (var name in settings.TracesExporters)
        {
            switch (name)
            {
                case "otlp":
                    var encoder = new OtlpTraceEncoder(resource, settings.Limits);
                    exporters.Add(new OtlpExporter(settings.Otlp, encoder.Encode, "traces"));
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

    private static string Summary(AgentSettings settings, string serviceName, List<ISpanExporter> exporters, Sampler sampler, List<InstrumentationDescriptor> enabled, List<string> skipped, TimeSpan elapsed)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"TraceAgent {ResourceBuilder.AgentVersion} tracing service '{serviceName}'");
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
