using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Instrumentation;
using TraceAgent.Metrics;
using TraceAgent.Propagation;
using TraceAgent.Resources;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Loading;

/// <summary>
/// The agent's entry point, called by the startup hook once its guard rails have passed and its
/// resolver is installed. It runs the start-up sequence: settings, resource, propagator, pipeline,
/// instrumentations; what it starts is held (and stopped) by <see cref="RunningAgent"/>, exporters
/// come from <see cref="ExporterFactory"/>, the one info line from <see cref="StartupSummary"/>.
/// </summary>
public static class AgentBootstrap
{
    private static readonly object Gate = new();
    private static RunningAgent? s_running;
    private static int s_shutDown;

    /// <summary>The running pipeline's processor, for tests and benchmarks in this process.</summary>
    internal static ISpanProcessor? Processor => s_running?.Pipeline.Processor;

    public static void Initialize(string agentDirectory)
    {
        var started = Stopwatch.GetTimestamp();
        var reader = SettingsReader.FromEnvironment();
        var settings = AgentSettings.Load(reader, InstrumentationRegistry.Ids, InstrumentationRegistry.LogsIds);

        // The log is configured from the settings just read; the warnings of that same pass are
        // written after, so they obey OTEL_LOG_LEVEL and reach OTEL_DOTNET_AUTO_LOG_DIRECTORY too.
        AgentLog.Configure(settings.LogLevel, settings.LogDirectory, toStderr: true);
        foreach (var warning in reader.Warnings)
        {
            AgentLog.Warning(warning);
        }

        if (!settings.TracesEnabled)
        {
            AgentLog.Info($"{ConfigurationKeys.TracesEnabled}=false: tracing is off");
            return;
        }

        lock (Gate)
        {
            if (s_running is not null)
            {
                return;
            }

            Start(settings, agentDirectory, started);
        }
    }

    /// <summary>Flushes queued spans, bounded by the export timeout (at most 5 s), and stops.</summary>
    public static void Shutdown()
    {
        if (Interlocked.Exchange(ref s_shutDown, 1) != 0)
        {
            return;
        }

        s_running?.Shutdown();
    }

    private static void Start(AgentSettings settings, string agentDirectory, long started)
    {
        var resource = ResourceBuilder.Build(settings);
        var serviceName = ResourceBuilder.ServiceName(resource);
        var propagator = AgentPropagator.Create(settings.Propagators);
        DistributedContextPropagator.Current = propagator;

        var metrics = MetricsPipeline.Create(settings.Metrics, resource);
        var processor = ExporterFactory.CreateSpanProcessor(settings, resource, serviceName, metrics?.Health, out var exporters);
        metrics?.Health.Observe(processor, "spans", "{span}");

        var enabled = InstrumentationRegistry.Enabled(settings, out var skipped);
        var sources = enabled.SelectMany(d => d.Sources).Concat(settings.AdditionalSources);
        var sampler = Sampler.Create(settings.Sampler, settings.SamplerRatio);
        var pipeline = new TracingPipeline(sampler, processor, new SourceMatcher(sources), settings.SamplingPolicies, childrenFollowParent: settings.AspNetCore.ExcludedPaths.Count > 0);
        foreach (var measured in metrics?.MeasuredSources ?? [])
        {
            pipeline.MakeUnsampled(measured);
        }

        pipeline.DirectSpanObserver = metrics;

        pipeline.Start();

        var logs = enabled.Any(d => d.Signal == InstrumentationSignal.Logs) ? ExporterFactory.CreateLogExport(settings, resource, metrics?.Health) : null;
        metrics?.Start();

        var loader = new LazyInstrumentationLoader(settings, propagator, pipeline, agentDirectory, enabled, logs);
        loader.Start();

        s_running = new RunningAgent(pipeline, loader, logs, metrics, Math.Min(settings.Otlp.TimeoutMilliseconds, 5000));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Shutdown();
        s_running.FlushOnSignals();

        var elapsed = Stopwatch.GetElapsedTime(started);
        AgentLog.Info(StartupSummary.Describe(settings, serviceName, exporters, pipeline.Sampling, enabled, skipped, logs, metrics, elapsed));
    }
}
