using System.Diagnostics;
using Confluent.Kafka;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation.ConfluentKafka;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Instrumentations.ConfluentKafka;

// A producer span's end at its delivery report: the report's message is laid out as librdkafka's
// rd_kafka_message_t, carrying the token the producer shim put in its opaque.
public sealed unsafe class KafkaDeliveryReportTests : IDisposable
{
    private const nint AppOpaque = 0x7f00_1000;

    private readonly TestSpans _spans = new();
    private readonly DeliveryReports _reports = new(KafkaTestTracing.Create());

    public void Dispose() => _spans.Dispose();

    [Fact]
    public void A_span_produced_to_a_topic_gets_the_partition_and_offset_of_its_report()
    {
        var span = _spans.Start("send orders", ActivityKind.Producer);
        var message = Tracked(span, partitionTagged: false);
        message.Partition = 3;
        message.Offset = 42;

        _reports.OnDelivery((nint)(&message));

        Assert.True(span.IsStopped);
        Assert.Equal(AppOpaque, message.Private);
        Assert.Equal("3", Assert.Single(Tags(span, KafkaSemantics.PartitionId)));
        Assert.Equal(42L, Assert.Single(Tags(span, KafkaSemantics.Offset)));
        Assert.Equal(0, _reports.InFlightCount);
    }

    [Fact]
    public void A_span_that_started_with_a_partition_keeps_one_partition_tag_the_reported_one()
    {
        var span = _spans.Start("send orders", ActivityKind.Producer);
        span.SetTag(KafkaSemantics.PartitionId, "1");
        var message = Tracked(span, partitionTagged: true);
        message.Partition = 5;
        message.Offset = 7;

        _reports.OnDelivery((nint)(&message));

        Assert.True(span.IsStopped);
        Assert.Equal("5", Assert.Single(Tags(span, KafkaSemantics.PartitionId)));
    }

    [Fact]
    public void A_failed_delivery_is_an_error_without_an_offset()
    {
        var span = _spans.Start("send orders", ActivityKind.Producer);
        var message = Tracked(span, partitionTagged: false);
        message.Partition = 0;
        message.Offset = -1001;
        message.Err = (int)ErrorCode.MsgSizeTooLarge;

        _reports.OnDelivery((nint)(&message));

        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal(nameof(ErrorCode.MsgSizeTooLarge), span.GetTagItem(KafkaSemantics.ErrorType));
        Assert.Empty(Tags(span, KafkaSemantics.Offset));
        Assert.Equal("0", Assert.Single(Tags(span, KafkaSemantics.PartitionId)));
    }

    private RdKafkaMessage Tracked(Activity span, bool partitionTagged)
    {
        nint opaque = AppOpaque;
        nint token = _reports.Track(span, &opaque, rk: 1, written: 0, appHeaders: null, partitionTagged);
        Assert.Equal(token, opaque);
        Assert.Equal(1, token & 1);
        return new RdKafkaMessage { Private = token, Partition = -1 };
    }

    private static List<object?> Tags(Activity span, string key)
    {
        var values = new List<object?>();
        foreach (var tag in span.EnumerateTagObjects())
        {
            if (tag.Key == key)
            {
                values.Add(tag.Value);
            }
        }

        return values;
    }
}
