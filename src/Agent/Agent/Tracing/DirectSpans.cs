using System.Diagnostics;

namespace TraceAgent.Tracing;

/// <summary>
/// A span an instrumentation makes after its operation ended, from what the library recorded (a
/// Redis profiled command): everything the OTLP span carries, with no Activity behind it.
/// </summary>
public readonly ref struct DirectSpan
{
    public DirectSpan(ActivitySource source, ActivityContext parent, string name, ActivityKind kind, DateTime startUtc, TimeSpan duration, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        Source = source;
        Parent = parent;
        Name = name;
        Kind = kind;
        StartUtc = startUtc;
        Duration = duration;
        Tags = tags;
    }

    public ActivitySource Source { get; }

    /// <summary>A sampled span of this process (see <see cref="DirectSpans.CanWrite"/>).</summary>
    public ActivityContext Parent { get; }

    public string Name { get; }

    public ActivityKind Kind { get; }

    public DateTime StartUtc { get; }

    public TimeSpan Duration { get; }

    /// <summary>The attributes; those with a null value are left out, as Activity.SetTag leaves them.</summary>
    public ReadOnlySpan<KeyValuePair<string, object?>> Tags { get; }

    public ActivityStatusCode Status { get; init; }

    public string? StatusDescription { get; init; }

    /// <summary>
    /// A local root the sampler did not sample (<see cref="DirectSpans.TryStart"/>): not exported,
    /// only measured by the span-derived metrics, as its unrecorded Activity would have been.
    /// </summary>
    public bool Unsampled { get; init; }
}

/// <summary>
/// A span an instrumentation started with no Activity (<see cref="DirectSpans.TryStart"/>): its
/// context, to propagate now, and what its <see cref="DirectSpan"/> needs when it ends.
/// </summary>
public readonly struct DirectStart
{
    internal DirectStart(ActivityContext parent, ActivityContext context, ulong spanId, string? samplingReason)
    {
        Parent = parent;
        Context = context;
        SpanId = spanId;
        SamplingReason = samplingReason;
    }

    /// <summary>
    /// What <see cref="DirectSpan.Parent"/> takes: the parent's context (its random-trace-id flag
    /// worked out), or for a local root its trace id and tracestate with no span id.
    /// </summary>
    public ActivityContext Parent { get; }

    /// <summary>The span's own context, as its Activity's would be: what travels downstream.</summary>
    public ActivityContext Context { get; }

    /// <summary>The span id, as <see cref="DirectSpans.Write(in DirectSpan, ulong)"/> takes it.</summary>
    public ulong SpanId { get; }

    public bool Sampled => (Context.TraceFlags & ActivityTraceFlags.Recorded) != 0;

    /// <summary>The name of the attribute that carries <see cref="SamplingReason"/>.</summary>
    public const string SamplingReasonAttribute = Sampling.TraceKeeper.ReasonAttribute;

    /// <summary>The sampling reason attribute's value a sampled root carries when policies are in force, else null.</summary>
    public string? SamplingReason { get; }
}

/// <summary>
/// Spans written straight to their encoded form, with no Activity: for an instrumentation that
/// makes its spans after the operation ended (StackExchange.Redis), each an Activity started,
/// tagged and stopped only to be encoded at once cost more than the rest of the span's work (the
/// per-operation benchmark's Redis row, docs/performance.md); and for one whose span has no
/// children in the process and ends on another thread (the Kafka producer span, ended by its
/// delivery report), begun with <see cref="TryStart"/> for the context it sends on. Used only where the result is the
/// same span as the Activity would have made: OTLP is the only trace exporter (each span is encoded
/// as it ends anyway), the parent is sampled and the sampler follows it, the source has no hooks,
/// and the agent is not suppressed on this thread. Otherwise <see cref="CanWrite"/> is false and the
/// instrumentation makes its Activity as before. The one difference an app could see: its own
/// ActivityListener on the agent's source no longer receives these spans.
/// </summary>
public sealed class DirectSpans
{
    private readonly TracingPipeline _pipeline;

    internal DirectSpans(TracingPipeline pipeline) => _pipeline = pipeline;

    /// <summary>True when a span of <paramref name="source"/> under <paramref name="parent"/> may be written with <see cref="Write"/>.</summary>
    public bool CanWrite(ActivitySource source, in ActivityContext parent) => _pipeline.CanWriteDirect(source, parent);

    /// <summary>Encodes and queues the span, and lets the span-derived metrics measure it; never throws.</summary>
    public void Write(in DirectSpan span) => _pipeline.WriteDirect(span);

    /// <summary>
    /// Decides, as the sampler would for its Activity, a span that starts now under
    /// <paramref name="parent"/> (Activity.Current; null for a local root), and gives it its ids.
    /// False where the span must be an Activity: another exporter than OTLP, hooks on the source,
    /// the agent suppressed on this thread, a parent that is unsampled or not W3C, a sampler that
    /// does not follow a sampled parent, a root whose trace may be held (keep errors or slow), an
    /// app-set trace id generator or id format. A root the sampler drops is started too (unsampled):
    /// its context still travels, and the metrics still measure it.
    /// </summary>
    public bool TryStart(ActivitySource source, Activity? parent, string name, ActivityKind kind, out DirectStart start) =>
        _pipeline.TryStartDirect(source, parent, name, kind, out start);

    /// <summary>Ends a span begun with <see cref="TryStart"/>: exported if sampled, measured either way; never throws.</summary>
    public void Write(in DirectSpan span, ulong spanId) => _pipeline.WriteDirect(span, spanId);
}
