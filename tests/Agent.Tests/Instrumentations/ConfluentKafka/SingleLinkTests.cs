using System.Diagnostics;
using TraceAgent.Instrumentation.ConfluentKafka;

namespace TraceAgent.Tests.Instrumentations.ConfluentKafka;

// The consumer span's reused one-link sequence: it reads as a sequence of exactly one link every
// time it is enumerated, and a span made from it keeps its own link after the next message's
// context replaces the one in the (per-thread) instance.
public sealed class SingleLinkTests
{
    [Fact]
    public void It_enumerates_one_link_each_time()
    {
        var context = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, "k=v", isRemote: true);
        var links = SingleLink.To(context);

        for (var pass = 0; pass < 3; pass++)
        {
            var link = Assert.Single(links);
            Assert.Equal(context, link.Context);
        }

        using var enumerator = links.GetEnumerator();
        Assert.True(enumerator.MoveNext());
        Assert.False(enumerator.MoveNext());
        Assert.False(enumerator.MoveNext());
        enumerator.Reset();
        Assert.True(enumerator.MoveNext());
        Assert.Equal(context, enumerator.Current.Context);
    }

    [Fact]
    public void A_span_keeps_its_link_when_the_instance_is_reused()
    {
        using var source = new ActivitySource("TraceAgent.Tests.SingleLink." + Guid.NewGuid().ToString("N"));
        var sampledLinks = new List<ActivityContext>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => ReferenceEquals(s, source),
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
            {
                sampledLinks.AddRange(options.Links!.Select(l => l.Context));
                return ActivitySamplingResult.AllDataAndRecorded;
            },
        };
        ActivitySource.AddActivityListener(listener);

        var first = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, null, isRemote: true);
        var second = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, null, isRemote: true);
        using var one = source.StartActivity("one", ActivityKind.Consumer, default(ActivityContext), links: SingleLink.To(first));
        using var two = source.StartActivity("two", ActivityKind.Consumer, default(ActivityContext), links: SingleLink.To(second));

        Assert.Same(SingleLink.To(first), SingleLink.To(second));
        Assert.Equal(first, Assert.Single(one!.Links).Context);
        Assert.Equal(second, Assert.Single(two!.Links).Context);
        Assert.Equal([first, second], sampledLinks);
    }
}
