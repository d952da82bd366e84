using System.Reflection;
using TraceAgent.Configuration;
using TraceAgent.Logs;
using TraceAgent.Propagation;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation;

/// <summary>What the core gives an instrumentation when it starts.</summary>
public sealed class InstrumentationContext
{
    private readonly TracingPipeline _pipeline;

    internal InstrumentationContext(AgentSettings settings, AgentPropagator propagator, TracingPipeline pipeline, Assembly library, LogExport? logs = null)
    {
        Settings = settings;
        Propagator = propagator;
        _pipeline = pipeline;
        Library = library;
        Logs = logs;
    }

    public AgentSettings Settings { get; }

    /// <summary>The propagators configured by OTEL_PROPAGATORS, for carriers other than HTTP.</summary>
    public AgentPropagator Propagator { get; }

    /// <summary>The library assembly whose loading started the instrumentation.</summary>
    public Assembly Library { get; }

    /// <summary>Where log records go when OTEL_LOGS_EXPORTER exports them; null when it does not.</summary>
    public LogExport? Logs { get; }

    public void SetHooks(string sourceName, SpanHooks hooks) => _pipeline.SetHooks(sourceName, hooks);

    /// <summary>The sampling in force, for root spans decided by their instrumentation (ASP.NET Core).</summary>
    public SamplingPolicy Sampling => _pipeline.Sampling;
}
