using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using TraceAgent.Propagation;

namespace TraceAgent.Sampling;

/// <summary>What a sampler sees of a span about to start.</summary>
internal readonly struct SamplingParameters
{
    public SamplingParameters(in ActivityContext parent, ActivityTraceId traceId, string? traceState, string name, ActivityKind kind, ActivitySource? source, IEnumerable<KeyValuePair<string, object?>>? tags)
    {
        Parent = parent;
        TraceId = traceId;
        TraceState = traceState;
        Name = name;
        Kind = kind;
        Source = source;
        Tags = tags;
    }

    /// <summary>The parent's context; default for a root.</summary>
    public ActivityContext Parent { get; }

    public ActivityTraceId TraceId { get; }

    /// <summary>The tracestate the span inherits (its parent's), before this sampler changes it.</summary>
    public string? TraceState { get; }

    public string Name { get; }

    public ActivityKind Kind { get; }

    public ActivitySource? Source { get; }

    public IEnumerable<KeyValuePair<string, object?>>? Tags { get; }

    public bool IsRoot => Parent.TraceId == default;

    /// <summary>
    /// The trace's 56-bit randomness: the explicit <c>rv</c> of the <c>ot</c> tracestate member when
    /// present, otherwise the trace id's right-most 7 bytes (W3C Trace Context Level 2).
    /// </summary>
    public ulong Randomness(out bool explicitValue)
    {
        explicitValue = OtelTraceState.TryGetRandomness(TraceState, out var rv);
        if (explicitValue)
        {
            return rv;
        }

        Span<byte> bytes = stackalloc byte[16];
        LowerHex.DecodeId(TraceId.ToHexString(), bytes);
        return BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]) & ProbabilityThreshold.MaxRandomness;
    }
}

/// <summary>A sampler's answer: keep (record and export) or not, and the tracestate the span carries.</summary>
internal readonly struct SamplingDecision
{
    public SamplingDecision(bool sampled, string? traceState)
    {
        Sampled = sampled;
        TraceState = traceState;
    }

    public bool Sampled { get; }

    /// <summary>The span's tracestate: the inherited one (the same reference) when unchanged.</summary>
    public string? TraceState { get; }
}

/// <summary>
/// A head sampler, decided as a span starts. A dropped span is still created (PropagationData) so
/// that its context, with the sampled flag cleared, reaches children and downstream services.
/// Samplers compose: <see cref="ParentBasedSampler"/> wraps a root sampler, and a rule or
/// rate-limiting sampler can wrap any of them the same way, passing the parameters through.
/// </summary>
internal abstract class Sampler
{
    public abstract string Description { get; }

    public abstract SamplingDecision ShouldSample(in SamplingParameters parameters);

    /// <summary>One of the six OTEL_TRACES_SAMPLER samplers; unknown names give the default, parentbased_always_on.</summary>
    public static Sampler Create(string name, double ratio) => name switch
    {
        "always_on" => AlwaysOnSampler.Instance,
        "always_off" => AlwaysOffSampler.Instance,
        "traceidratio" => new TraceIdRatioSampler(ratio),
        "parentbased_always_off" => new ParentBasedSampler(AlwaysOffSampler.Instance),
        "parentbased_traceidratio" => new ParentBasedSampler(new TraceIdRatioSampler(ratio)),
        _ => new ParentBasedSampler(AlwaysOnSampler.Instance),
    };

    /// <summary>For tests and callers without a tracestate: the decision alone.</summary>
    public bool ShouldSample(in ActivityContext parent, ActivityTraceId traceId) =>
        ShouldSample(new SamplingParameters(parent, traceId, parent.TraceState, string.Empty, ActivityKind.Internal, null, null)).Sampled;
}

internal sealed class AlwaysOnSampler : Sampler
{
    public static readonly AlwaysOnSampler Instance = new();

    public override string Description => "always_on";

    public override SamplingDecision ShouldSample(in SamplingParameters parameters) => new(true, parameters.TraceState);
}

internal sealed class AlwaysOffSampler : Sampler
{
    public static readonly AlwaysOffSampler Instance = new();

    public override string Description => "always_off";

    public override SamplingDecision ShouldSample(in SamplingParameters parameters) => new(false, parameters.TraceState);
}

/// <summary>
/// OpenTelemetry's TraceIdRatioBased as the specification now defines it for W3C Trace Context
/// Level 2: keep a span when the trace's randomness is at least the rejection threshold of the
/// ratio, and record that threshold as <c>th</c> in the <c>ot</c> tracestate member. The decision
/// depends on the trace alone, so every service (of any OpenTelemetry SDK that follows the
/// specification) with the same ratio keeps exactly the same traces, and one with a higher ratio
/// keeps a superset. The parent's sampled flag is ignored (wrap in ParentBasedSampler to follow it).
/// </summary>
internal sealed class TraceIdRatioSampler : Sampler
{
    private static int s_presumedRandomnessReported;
    private readonly bool _never;
    private readonly ProbabilityThreshold _threshold;
    private readonly string _rootTraceState;

    public TraceIdRatioSampler(double ratio)
    {
        Ratio = ratio;
        _never = !ProbabilityThreshold.TryFromProbability(ratio, out _threshold);
        _rootTraceState = "ot=th:" + _threshold.Encoded;
        Description = string.Create(CultureInfo.InvariantCulture, $"traceidratio({ratio:0.######})");
    }

    public double Ratio { get; }

    /// <summary>The <c>th</c> value written on kept spans; null when the ratio keeps nothing.</summary>
    public string? EncodedThreshold => _never ? null : _threshold.Encoded;

    public override string Description { get; }

    public override SamplingDecision ShouldSample(in SamplingParameters parameters)
    {
        if (_never)
        {
            return new SamplingDecision(false, OtelTraceState.WithThreshold(parameters.TraceState, null));
        }

        var randomness = parameters.Randomness(out var explicitValue);
        // In-process parents carry no flag bits but the sampled one; the flag matters for callers.
        if (!explicitValue && parameters.Parent.IsRemote && (parameters.Parent.TraceFlags & Tracing.RandomTraceFlag.Random) == 0)
        {
            ReportPresumedRandomness();
        }

        var sampled = randomness >= _threshold.Value;
        var traceState = parameters.TraceState is null
            ? (sampled ? _rootTraceState : null)
            : OtelTraceState.WithThreshold(parameters.TraceState, sampled ? _threshold.Encoded : null);
        return new SamplingDecision(sampled, traceState);
    }

    // The specification asks for one warning the first time randomness is presumed for a context
    // whose random flag is unset: a caller on an older SDK may not make the trace id's low bits random.
    private static void ReportPresumedRandomness()
    {
        if (Interlocked.Exchange(ref s_presumedRandomnessReported, 1) == 0)
        {
            Diagnostics.AgentLog.Warning("traceidratio sampler: a caller sent a trace without the W3C random-trace-id flag; its trace id is presumed random (an older SDK upstream may make traces sampled inconsistently)");
        }
    }
}

/// <summary>
/// OpenTelemetry's ParentBased: a span with a parent follows the parent's sampled flag; a root is
/// decided by the root sampler. A sampled remote parent's <c>th</c> is passed on only when it agrees
/// with the decision it claims (randomness &gt;= th), otherwise it is erased, as the specification asks.
/// </summary>
internal sealed class ParentBasedSampler : Sampler
{
    private readonly Sampler _root;

    public ParentBasedSampler(Sampler root)
    {
        _root = root;
        Description = "parentbased_" + root.Description;
    }

    public override string Description { get; }

    public Sampler Root => _root;

    public override SamplingDecision ShouldSample(in SamplingParameters parameters)
    {
        if (parameters.IsRoot)
        {
            return _root.ShouldSample(parameters);
        }

        var sampled = (parameters.Parent.TraceFlags & ActivityTraceFlags.Recorded) != 0;
        var traceState = parameters.TraceState;

        // In-process parents were checked when their own remote parent arrived.
        if (sampled && parameters.Parent.IsRemote && traceState is not null
            && OtelTraceState.TryGetThreshold(traceState, out var threshold)
            && parameters.Randomness(out _) < threshold)
        {
            traceState = OtelTraceState.WithThreshold(traceState, null);
        }

        return new SamplingDecision(sampled, traceState);
    }
}
