using System.Reflection;
using TraceAgent.Logs;
using TraceAgent.Propagation;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation;

/// <summary>What the core gives an instrumentation when it starts.</summary>
public sealed class InstrumentationContext
{
    private readonly string _id;
    private readonly object? _settings;
    private readonly TracingPipeline _pipeline;

    internal InstrumentationContext(string id, object? settings, AgentPropagator propagator, TracingPipeline pipeline, Assembly library, LogExport? logs)
    {
        _id = id;
        _settings = settings;
        Propagator = propagator;
        _pipeline = pipeline;
        Library = library;
        Logs = logs;
    }

    /// <summary>The propagators configured by OTEL_PROPAGATORS, for carriers other than HTTP.</summary>
    public AgentPropagator Propagator { get; }

    /// <summary>The library assembly whose loading started the instrumentation.</summary>
    public Assembly Library { get; }

    /// <summary>Where log records go when OTEL_LOGS_EXPORTER exports them; null when it does not.</summary>
    public LogExport? Logs { get; }

    /// <summary>The sampling in force, for root spans decided by their instrumentation (ASP.NET Core).</summary>
    public SamplingPolicy Sampling => _pipeline.Sampling;

    /// <summary>
    /// The instrumentation's own slice of the settings (a record of Configuration/InstrumentationSettings.cs),
    /// chosen by its line in InstrumentationRegistry. Asking for another type is a programming error,
    /// reported by the loader as the instrumentation failing to start.
    /// </summary>
    public T GetSettings<T>()
        where T : class =>
        _settings as T ?? throw new InvalidOperationException($"instrumentation {_id} asked for {typeof(T).Name}, but its registry line gives it {_settings?.GetType().Name ?? "no settings"}");

    /// <summary>Spans written with no Activity, where that makes the same span (DirectSpans).</summary>
    public DirectSpans DirectSpans => _pipeline.DirectSpans;

    /// <summary>
    /// True when each sampled span is encoded as it ends (OTLP is the only trace exporter): then
    /// <see cref="SpanHooks.WriteAttributes"/> is called for it; otherwise attributes must be set on the Activity.
    /// </summary>
    public bool EncodesSpansAsTheyEnd => _pipeline.EncodesSpansAsTheyEnd;

    public void SetHooks(string sourceName, SpanHooks hooks) => _pipeline.SetHooks(sourceName, hooks);

    /// <summary>Makes the source's spans under an unsampled parent too, unrecorded (TracingPipeline.MakeUnsampled).</summary>
    public void MakeUnsampled(string sourceName) => _pipeline.MakeUnsampled(sourceName);
}
