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
}

/// <summary>
/// Spans written straight to their encoded form, with no Activity: for an instrumentation that
/// makes its spans after the operation ended (StackExchange.Redis), each an Activity started,
/// tagged and stopped only to be encoded at once cost more than the rest of the span's work (the
/// per-operation benchmark's Redis row, docs/performance.md). Used only where the result is the
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
}
