using System.Buffers.Binary;
using System.Diagnostics;

namespace TraceAgent.Sampling;

/// <summary>
/// The six samplers of the OpenTelemetry SDK specification. A dropped span is still created
/// (PropagationData) so that its context, with the sampled flag cleared, reaches children and
/// downstream services, which then make the same decision.
/// </summary>
internal sealed class Sampler
{
    private readonly bool _parentBased;
    private readonly ulong _threshold;
    private readonly bool _alwaysOn;
    private readonly bool _alwaysOff;

    private Sampler(bool parentBased, bool alwaysOn, bool alwaysOff, double ratio)
    {
        _parentBased = parentBased;
        _alwaysOn = alwaysOn;
        _alwaysOff = alwaysOff;

        // Compare the trace id's 56 rightmost bits (the random part in W3C Trace Context Level 2)
        // with ratio * 2^56: a trace is sampled the same way in every service that uses the same ratio.
        _threshold = ThresholdOf(ratio);
    }

    public string Description { get; private init; } = string.Empty;

    /// <summary>True when a span with a parent follows its parent's decision.</summary>
    public bool IsParentBased => _parentBased;

    /// <summary>The threshold <see cref="IsUnder"/> compares a trace id with, for a ratio from 0 to 1.</summary>
    public static ulong ThresholdOf(double ratio) => ratio >= 1.0 ? 1UL << 56 : (ulong)(ratio * (1UL << 56));

    public static Sampler Create(string name, double ratio) => name switch
    {
        "always_on" => new Sampler(false, true, false, 1) { Description = "always_on" },
        "always_off" => new Sampler(false, false, true, 0) { Description = "always_off" },
        "traceidratio" => new Sampler(false, false, false, ratio) { Description = $"traceidratio({ratio:0.######})" },
        "parentbased_always_off" => new Sampler(true, false, true, 0) { Description = "parentbased_always_off" },
        "parentbased_traceidratio" => new Sampler(true, false, false, ratio) { Description = $"parentbased_traceidratio({ratio:0.######})" },
        _ => new Sampler(true, true, false, 1) { Description = "parentbased_always_on" },
    };

    public bool ShouldSample(in ActivityContext parent, ActivityTraceId traceId)
    {
        if (_parentBased && parent.TraceId != default)
        {
            return (parent.TraceFlags & ActivityTraceFlags.Recorded) != 0;
        }

        if (_alwaysOn)
        {
            return true;
        }

        if (_alwaysOff)
        {
            return false;
        }

        return IsUnder(traceId, _threshold);
    }

    /// <summary>The same decision for the same trace id in every process that uses the same threshold.</summary>
    public static bool IsUnder(ActivityTraceId traceId, ulong threshold)
    {
        Span<byte> bytes = stackalloc byte[16];
        traceId.CopyTo(bytes);
        var random = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]) & ((1UL << 56) - 1);
        return random < threshold;
    }
}
