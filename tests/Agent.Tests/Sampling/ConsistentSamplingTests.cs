using System.Diagnostics;
using TraceAgent.Sampling;

namespace TraceAgent.Tests.Sampling;

/// <summary>
/// TraceIdRatioBased per the OpenTelemetry specification for W3C Trace Context Level 2 randomness
/// ("TraceState: Probability Sampling"): threshold values, the randomness comparison, th in the
/// ot tracestate member, rv, and the parent-based consistency check.
/// </summary>
public sealed class ConsistentSamplingTests
{
    private const ActivityTraceFlags RandomAndSampled = (ActivityTraceFlags)3;
    private const ActivityTraceFlags RandomOnly = (ActivityTraceFlags)2;

    // The specification's table of 1-in-N probabilities at the default precision (4).
    [Theory]
    [InlineData(1.0, "0")]
    [InlineData(0.5, "8")]
    [InlineData(1.0 / 3, "aaab")]
    [InlineData(0.25, "c")]
    [InlineData(0.2, "cccd")]
    [InlineData(0.125, "e")]
    [InlineData(0.1, "e666")]
    [InlineData(0.0625, "f")]
    [InlineData(0.01, "fd70a")]
    [InlineData(0.001, "ffbe77")]
    [InlineData(0.0001, "fff9724")]
    [InlineData(0.00001, "ffff583a")]
    [InlineData(0.000001, "ffffef39")]
    public void Thresholds_match_the_specification_table(double probability, string expected)
    {
        Assert.True(ProbabilityThreshold.TryFromProbability(probability, out var threshold));
        Assert.Equal(expected, threshold.Encoded);
        Assert.True(ProbabilityThreshold.TryParse(expected, out var parsed));
        Assert.Equal(parsed, threshold.Value);
    }

    [Fact]
    public void The_one_percent_threshold_is_the_specification_example()
    {
        // (1 - 0.01) * 2^56 with 5 digits: 0xfd70a400000000, written fd70a4 at precision 5 and fd70a at 4.
        Assert.True(ProbabilityThreshold.TryFromProbability(0.01, out var threshold));
        Assert.Equal(0xfd70a000000000UL, threshold.Value);
        Assert.True(ProbabilityThreshold.TryParse("fd70a4", out var five));
        Assert.Equal(0xfd70a400000000UL, five);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void A_ratio_below_two_to_the_minus_56_has_no_threshold_and_keeps_nothing(double ratio)
    {
        Assert.False(ProbabilityThreshold.TryFromProbability(ratio, out _));
        var sampler = new TraceIdRatioSampler(ratio);
        Assert.Null(sampler.EncodedThreshold);
        Assert.False(sampler.ShouldSample(default, TraceIdWithRandomness(ProbabilityThreshold.MaxRandomness)));
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("8", true)]
    [InlineData("fd70a4", true)]
    [InlineData("ffffffffffffff", true)]
    [InlineData("fffffffffffffff", false)]
    [InlineData("FD70A4", false)]
    [InlineData("8g", false)]
    public void Th_values_are_1_to_14_lower_case_hex_digits(string encoded, bool valid)
    {
        Assert.Equal(valid, ProbabilityThreshold.TryParse(encoded, out _));
    }

    [Fact]
    public void A_span_is_kept_when_the_right_most_56_bits_are_at_least_the_threshold()
    {
        // th 8 = 0x80000000000000: the boundary value is kept, one below is not; the trace id's
        // left-most 9 bytes play no part.
        var sampler = new TraceIdRatioSampler(0.5);
        Assert.True(sampler.ShouldSample(default, TraceIdWithRandomness(0x80000000000000UL)));
        Assert.False(sampler.ShouldSample(default, TraceIdWithRandomness(0x7fffffffffffffUL)));
        Assert.True(sampler.ShouldSample(default, TraceIdWithRandomness(0x80000000000000UL, highBytes: 0xff)));
        Assert.False(sampler.ShouldSample(default, TraceIdWithRandomness(0x7fffffffffffffUL, highBytes: 0xff)));
    }

    [Fact]
    public void A_kept_root_carries_th_in_the_ot_member_and_a_dropped_one_carries_none()
    {
        var sampler = new TraceIdRatioSampler(0.25);
        var kept = sampler.ShouldSample(Root(TraceIdWithRandomness(0xc0000000000000UL)));
        Assert.True(kept.Sampled);
        Assert.Equal("ot=th:c", kept.TraceState);

        var dropped = sampler.ShouldSample(Root(TraceIdWithRandomness(0xbfffffffffffffUL)));
        Assert.False(dropped.Sampled);
        Assert.Null(dropped.TraceState);
    }

    [Fact]
    public void An_explicit_rv_decides_instead_of_the_trace_id_and_is_kept()
    {
        var sampler = new TraceIdRatioSampler(0.5);

        // Trace id randomness says drop; rv says keep.
        var parent = new ActivityContext(TraceIdWithRandomness(0x10UL), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, "ot=rv:9a000000000000;x:1,vendor=a", isRemote: true);
        var decision = sampler.ShouldSample(Child(parent));
        Assert.True(decision.Sampled);
        Assert.Equal("ot=th:8;rv:9a000000000000;x:1,vendor=a", decision.TraceState);

        // Trace id says keep; rv says drop: th is erased, rv and the other sub-keys stay.
        var other = new ActivityContext(TraceIdWithRandomness(ProbabilityThreshold.MaxRandomness), ActivitySpanId.CreateRandom(), RandomAndSampled, "vendor=a,ot=th:0;rv:00000000000001", isRemote: true);
        var dropped = sampler.ShouldSample(Child(other));
        Assert.False(dropped.Sampled);
        Assert.Equal("ot=rv:00000000000001,vendor=a", dropped.TraceState);
    }

    [Theory]
    [InlineData("ot=rv:9a00000000000")]
    [InlineData("ot=rv:9a0000000000000")]
    [InlineData("ot=rv:9A000000000000")]
    public void A_malformed_rv_is_ignored(string traceState)
    {
        var sampler = new TraceIdRatioSampler(0.5);
        var parent = new ActivityContext(TraceIdWithRandomness(0x10UL), ActivitySpanId.CreateRandom(), RandomOnly, traceState, isRemote: true);
        Assert.False(sampler.ShouldSample(Child(parent)).Sampled);
    }

    [Fact]
    public void The_threshold_replaces_an_upstream_one_and_the_ot_member_moves_to_the_front()
    {
        var sampler = new TraceIdRatioSampler(0.5);
        var parent = new ActivityContext(TraceIdWithRandomness(0xf0000000000000UL), ActivitySpanId.CreateRandom(), RandomAndSampled, "rojo=1,ot=th:c;zz:9,congo=2", isRemote: true);
        var decision = sampler.ShouldSample(Child(parent));
        Assert.True(decision.Sampled);
        Assert.Equal("ot=th:8;zz:9,rojo=1,congo=2", decision.TraceState);
    }

    [Fact]
    public void Adding_the_ot_member_to_a_full_list_drops_the_right_most_member()
    {
        var members = string.Join(',', Enumerable.Range(1, 32).Select(i => $"k{i}=v"));
        var parent = new ActivityContext(TraceIdWithRandomness(ProbabilityThreshold.MaxRandomness), ActivitySpanId.CreateRandom(), RandomAndSampled, members, isRemote: true);
        var decision = new TraceIdRatioSampler(0.5).ShouldSample(Child(parent));
        var kept = decision.TraceState!.Split(',');
        Assert.Equal(32, kept.Length);
        Assert.Equal("ot=th:8", kept[0]);
        Assert.Equal("k31=v", kept[^1]);
    }

    [Fact]
    public void Two_samplers_with_the_same_ratio_keep_exactly_the_same_traces_and_a_higher_ratio_a_superset()
    {
        var first = new TraceIdRatioSampler(0.3);
        var second = new TraceIdRatioSampler(0.3);
        var higher = new TraceIdRatioSampler(0.6);
        var random = new Random(7);
        Span<byte> bytes = stackalloc byte[16];
        var kept = 0;
        const int Count = 20_000;
        for (var i = 0; i < Count; i++)
        {
            random.NextBytes(bytes);
            var traceId = ActivityTraceId.CreateFromBytes(bytes);
            var a = first.ShouldSample(Root(traceId));
            var parent = new ActivityContext(traceId, ActivitySpanId.CreateRandom(), a.Sampled ? RandomAndSampled : RandomOnly, a.TraceState, isRemote: true);

            // The downstream service ignores the parent's flag and decides from the trace alone.
            var b = second.ShouldSample(Child(parent));
            Assert.Equal(a.Sampled, b.Sampled);
            if (a.Sampled)
            {
                kept++;
                Assert.True(higher.ShouldSample(Child(parent)).Sampled);
            }
        }

        Assert.InRange(kept / (double)Count, 0.28, 0.32);
    }

    [Fact]
    public void Parent_based_passes_a_consistent_threshold_on_and_erases_an_inconsistent_one()
    {
        var sampler = Sampler.Create("parentbased_traceidratio", 0.5);
        var consistent = new ActivityContext(TraceIdWithRandomness(0xf0000000000000UL), ActivitySpanId.CreateRandom(), RandomAndSampled, "ot=th:8,a=1", isRemote: true);
        var decision = sampler.ShouldSample(Child(consistent));
        Assert.True(decision.Sampled);
        Assert.Equal("ot=th:8,a=1", decision.TraceState);

        // Sampled, but its randomness is below the threshold it claims: the th cannot be true.
        var inconsistent = new ActivityContext(TraceIdWithRandomness(0x10UL), ActivitySpanId.CreateRandom(), RandomAndSampled, "ot=th:8;rv:00000000000011,a=1", isRemote: true);
        decision = sampler.ShouldSample(Child(inconsistent));
        Assert.True(decision.Sampled);
        Assert.Equal("ot=rv:00000000000011,a=1", decision.TraceState);

        // An unsampled parent's tracestate is passed on untouched.
        var unsampled = new ActivityContext(TraceIdWithRandomness(0x10UL), ActivitySpanId.CreateRandom(), RandomOnly, "ot=th:8,a=1", isRemote: true);
        decision = sampler.ShouldSample(Child(unsampled));
        Assert.False(decision.Sampled);
        Assert.Equal("ot=th:8,a=1", decision.TraceState);
    }

    [Fact]
    public void Parent_based_roots_use_the_ratio_and_write_th()
    {
        var sampler = Sampler.Create("parentbased_traceidratio", 0.1);
        var kept = sampler.ShouldSample(Root(TraceIdWithRandomness(ProbabilityThreshold.MaxRandomness)));
        Assert.True(kept.Sampled);
        Assert.Equal("ot=th:e666", kept.TraceState);
        Assert.Equal("parentbased_traceidratio(0.1)", sampler.Description);
    }

    [Fact]
    public void Always_on_and_parent_based_always_on_leave_the_tracestate_alone()
    {
        var parent = new ActivityContext(TraceIdWithRandomness(0x10UL), ActivitySpanId.CreateRandom(), RandomAndSampled, "ot=th:8,a=1", isRemote: true);
        Assert.Same(parent.TraceState, Sampler.Create("always_on", 1).ShouldSample(Child(parent)).TraceState);
        Assert.Null(Sampler.Create("parentbased_always_on", 1).ShouldSample(Root(ActivityTraceId.CreateRandom())).TraceState);
    }

    private static SamplingParameters Root(ActivityTraceId traceId) =>
        new(default, traceId, null, "root", ActivityKind.Server, null, null);

    private static SamplingParameters Child(ActivityContext parent) =>
        new(parent, parent.TraceId, parent.TraceState, "child", ActivityKind.Server, null, null);

    private static ActivityTraceId TraceIdWithRandomness(ulong randomness, byte highBytes = 0x12)
    {
        Span<byte> bytes = stackalloc byte[16];
        bytes[..9].Fill(highBytes);
        for (var i = 0; i < 7; i++)
        {
            bytes[15 - i] = (byte)(randomness >> (8 * i));
        }

        return ActivityTraceId.CreateFromBytes(bytes);
    }
}
