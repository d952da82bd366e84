using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Tests.Reliability;

namespace TraceAgent.Tests.Export;

/// <summary>
/// The processor for OTLP alone: spans are encoded as they end and their bytes are exported in
/// holders that the next batches reuse; what the exporter sends decodes to the spans that ended.
/// </summary>
[Collection(StandardErrorCollection.Name)]
public sealed class EncodingSpanProcessorTests : IDisposable
{
    private readonly RecordedSources _recorded = new(new ActivitySource("encoding.processor.test." + Guid.NewGuid().ToString("N")));

    public void Dispose() => _recorded.Dispose();

    private sealed class Unprintable
    {
        public override string ToString() => throw new InvalidOperationException("no text on purpose");
    }

    private static (EncodingSpanProcessor Processor, DecodingExporter Exporter) Make(int maxQueue = 2048, int batch = 64)
    {
        var encoder = new OtlpTraceEncoder([new("service.name", "encoding-test")], new SpanLimits(128, null, 128, 128, 128, 128));
        var exporter = new DecodingExporter(encoder);

        // Exports only when flushed (or when a batch is full), so each test decides what a batch holds.
        return (new EncodingSpanProcessor(encoder, [exporter], new BatchSettings(60_000, 30_000, maxQueue, batch), 10_000), exporter);
    }

    private Activity End(string name, int index)
    {
        var activity = _recorded.Source.StartActivity(name)!;
        activity.SetTag("index", index);
        activity.Stop();
        return activity;
    }

    [Fact]
    public void Ended_spans_arrive_with_their_attributes_and_later_batches_reuse_the_holders()
    {
        var (processor, exporter) = Make();
        using (processor)
        {
            var ended = new List<Activity>();
            for (var round = 0; round < 3; round++)
            {
                for (var i = 0; i < 40; i++)
                {
                    var activity = End("round" + round, i);
                    ended.Add(activity);
                    processor.OnEnd(activity);
                }

                Assert.True(processor.ForceFlush(10_000));
            }

            processor.Shutdown(10_000);
            Assert.Equal(ended.Select(a => a.SpanId.ToHexString()).Order(), exporter.Spans.Select(s => s.SpanId).Order());
            Assert.All(exporter.Spans, s => Assert.Equal((long)(int)ended.Single(a => a.SpanId.ToHexString() == s.SpanId).GetTagItem("index")!, s.Attribute("index")));
            Assert.Equal(120, processor.ExportedCount);

            // Nothing new was made for the second and third batches: the first one's holders came back.
            Assert.Equal(3, exporter.Holders.Count);
            Assert.Subset(exporter.Holders[0], exporter.Holders[1]);
            Assert.Subset(exporter.Holders[0], exporter.Holders[2]);
        }
    }

    [Fact]
    public void A_full_queue_drops_and_counts_and_a_value_that_cannot_be_encoded_costs_its_attribute_only()
    {
        var (processor, exporter) = Make(maxQueue: 4, batch: 64);
        using (processor)
        {
            const string Site = "the ToString of an attribute value of type TraceAgent.Tests.Export.EncodingSpanProcessorTests+Unprintable (the attribute is dropped)";
            var faults = AgentFaults.Snapshot();
            for (var i = 0; i < 3; i++)
            {
                processor.OnEnd(End("queued", i));
            }

            var broken = _recorded.Source.StartActivity("broken")!;
            broken.SetTag("value", new Unprintable());
            broken.SetTag("index", 3);
            broken.AddEvent(new ActivityEvent("checked", tags: new ActivityTagsCollection { ["bad"] = new Unprintable(), ["ok"] = 1 }));
            broken.Stop();
            var original = AgentLog.RedirectStderr(TextWriter.Null);
            try
            {
                processor.OnEnd(broken);
            }
            finally
            {
                AgentLog.RedirectStderr(original);
            }

            for (var i = 4; i < 6; i++)
            {
                processor.OnEnd(End("queued", i));
            }

            Assert.True(processor.ForceFlush(10_000));
            Assert.Equal(4, exporter.Spans.Count);
            Assert.Equal(2, processor.DroppedCount);
            var sent = Assert.Single(exporter.Spans, s => s.Name == "broken");
            Assert.Null(sent.Attribute("value"));
            Assert.Equal(3L, sent.Attribute("index"));
            Assert.Equal(1u, sent.DroppedAttributesCount);
            var checkedEvent = Assert.Single(sent.Events);
            Assert.Equal(["ok"], checkedEvent.Attributes.Keys);
            Assert.Equal(1u, checkedEvent.DroppedAttributesCount);
            Assert.Equal(faults.GetValueOrDefault(Site) + 2, AgentFaults.Snapshot().GetValueOrDefault(Site));
            Assert.Equal(faults.GetValueOrDefault("span encoding"), AgentFaults.Snapshot().GetValueOrDefault("span encoding"));
        }
    }
}
