using System.Diagnostics;
using TraceAgent.Sampling;

namespace TraceAgent.Tests.Sampling;

public sealed class SamplerTests
{
    private static readonly ActivityContext SampledParent = new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
    private static readonly ActivityContext UnsampledParent = new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, isRemote: true);

    [Theory]
    [InlineData("always_on", true, true, true)]
    [InlineData("always_off", false, false, false)]
    [InlineData("parentbased_always_on", true, true, false)]
    [InlineData("parentbased_always_off", false, true, false)]
    public void Fixed_samplers(string name, bool root, bool underSampled, bool underUnsampled)
    {
        var sampler = Sampler.Create(name, 1);
        Assert.Equal(root, sampler.ShouldSample(default, ActivityTraceId.CreateRandom()));
        Assert.Equal(underSampled, sampler.ShouldSample(SampledParent, SampledParent.TraceId));
        Assert.Equal(underUnsampled, sampler.ShouldSample(UnsampledParent, UnsampledParent.TraceId));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void Ratio_sampler_samples_about_the_ratio_and_decides_the_same_for_the_same_trace(double ratio)
    {
        var sampler = Sampler.Create("traceidratio", ratio);
        var random = new Random(42);
        var sampled = 0;
        const int Count = 20000;
        Span<byte> bytes = stackalloc byte[16];
        for (var i = 0; i < Count; i++)
        {
            random.NextBytes(bytes);
            var traceId = ActivityTraceId.CreateFromBytes(bytes);
            var decision = sampler.ShouldSample(default, traceId);
            Assert.Equal(decision, sampler.ShouldSample(default, traceId));
            sampled += decision ? 1 : 0;
        }

        Assert.InRange(sampled / (double)Count, ratio - 0.02, ratio + 0.02);
    }

    [Fact]
    public void Parent_based_ratio_follows_the_parent_and_uses_the_ratio_for_roots()
    {
        var sampler = Sampler.Create("parentbased_traceidratio", 0);
        Assert.True(sampler.ShouldSample(SampledParent, SampledParent.TraceId));
        Assert.False(sampler.ShouldSample(UnsampledParent, UnsampledParent.TraceId));
        Assert.False(sampler.ShouldSample(default, ActivityTraceId.CreateRandom()));
    }
}
