using System.Reflection;
using TraceAgent.Configuration;
using TraceAgent.Propagation;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation;

/// <summary>What the core gives an instrumentation when it starts.</summary>
public sealed class InstrumentationContext
{
    private readonly TracingPipeline _pipeline;

    internal InstrumentationContext(AgentSettings settings, AgentPropagator propagator, TracingPipeline pipeline, Assembly library)
    {
        Settings = settings;
        Propagator = propagator;
        _pipeline = pipeline;
        Library = library;
    }

    public AgentSettings Settings { get; }

    /// <summary>The propagators configured by OTEL_PROPAGATORS, for carriers other than HTTP.</summary>
    public AgentPropagator Propagator { get; }

    /// <summary>The library assembly whose loading started the instrumentation.</summary>
    public Assembly Library { get; }

    public void SetHooks(string sourceName, SpanHooks hooks) => _pipeline.SetHooks(sourceName, hooks);
}
