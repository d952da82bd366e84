using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Logs;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.Tests.Export;

/// <summary>The log encoder, checked by a round trip through the test receiver's decoder.</summary>
public sealed class OtlpLogEncoderTests
{
    private static readonly KeyValuePair<string, object>[] Resource =
    [
        new("service.name", "orders"),
        new("process.pid", 1234L),
    ];

    private static readonly SpanLimits Limits = new(128, null, 128, 128, 128, 128);

    private static List<ReceivedLogRecord> RoundTrip(SpanLimits limits, params LogRecordData[] records)
    {
        var writer = new ProtoWriter();
        new OtlpLogEncoder(Resource, limits).Encode(writer, records);
        return OtlpDecoder.DecodeLogs(writer.WrittenSpan);
    }

    private static LogRecordData Record(string category, string body, params KeyValuePair<string, object?>[] attributes) => new()
    {
        TimestampUtc = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc),
        Category = category,
        SeverityNumber = 9,
        SeverityText = "Info",
        Body = body,
        Attributes = attributes,
    };

    [Fact]
    public void A_record_in_a_span_keeps_its_ids_severity_body_attributes_and_scope()
    {
        var traceId = ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c");
        var spanId = ActivitySpanId.CreateFromString("b7ad6b7169203331");
        var record = new LogRecordData
        {
            TimestampUtc = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc),
            Category = "Orders.Checkout",
            SeverityNumber = 17,
            SeverityText = "Error",
            Body = "Order {OrderId} failed after {Attempts} attempts",
            EventName = "OrderFailed",
            Attributes = [new("OrderId", "A-17"), new("Attempts", 3), new("Ratio", 0.5), new("Retried", true), new("Tags", new[] { "a", "b" })],
            Exception = new InvalidOperationException("the order service is down"),
            TraceId = traceId,
            SpanId = spanId,
            TraceFlags = ActivityTraceFlags.Recorded,
        };

        var decoded = Assert.Single(RoundTrip(Limits, record));

        Assert.Equal("0af7651916cd43dd8448eb211c80319c", decoded.TraceId);
        Assert.Equal("b7ad6b7169203331", decoded.SpanId);
        Assert.Equal(1u, decoded.Flags);
        Assert.Equal(17, decoded.SeverityNumber);
        Assert.Equal("Error", decoded.SeverityText);
        Assert.Equal("Order {OrderId} failed after {Attempts} attempts", decoded.Body);
        Assert.Equal("OrderFailed", decoded.EventName);
        Assert.Equal("A-17", decoded.Attributes["OrderId"]);
        Assert.Equal(3L, decoded.Attributes["Attempts"]);
        Assert.Equal(0.5, decoded.Attributes["Ratio"]);
        Assert.Equal(true, decoded.Attributes["Retried"]);
        Assert.Equal(new object?[] { "a", "b" }, (object?[])decoded.Attributes["Tags"]!);
        Assert.Equal("System.InvalidOperationException", decoded.Attributes["exception.type"]);
        Assert.Equal("the order service is down", decoded.Attributes["exception.message"]);
        Assert.StartsWith("System.InvalidOperationException: the order service is down", (string)decoded.Attributes["exception.stacktrace"]!, StringComparison.Ordinal);
        Assert.Equal("Orders.Checkout", decoded.ScopeName);
        Assert.Equal("orders", decoded.ServiceName);
        Assert.Equal(1234L, decoded.ResourceAttributes["process.pid"]);
        var nanos = (ulong)(record.TimestampUtc - DateTime.UnixEpoch).Ticks * 100;
        Assert.Equal(nanos, decoded.TimeUnixNano);
        Assert.Equal(nanos, decoded.ObservedTimeUnixNano);
    }

    [Fact]
    public void A_record_outside_any_span_has_no_trace_context()
    {
        var decoded = Assert.Single(RoundTrip(Limits, Record("App", "started")));
        Assert.Equal("", decoded.TraceId);
        Assert.Equal("", decoded.SpanId);
        Assert.Equal(0u, decoded.Flags);
        Assert.Equal("", decoded.EventName);
        Assert.Empty(decoded.Attributes);
    }

    [Fact]
    public void Records_are_grouped_by_category_and_the_encoder_is_reusable()
    {
        var first = RoundTrip(Limits, Record("A", "one"), Record("B", "two"), Record("A", "three"));
        Assert.Equal(["one", "three"], first.Where(r => r.ScopeName == "A").Select(r => (string)r.Body!));
        Assert.Equal(["two"], first.Where(r => r.ScopeName == "B").Select(r => (string)r.Body!));

        // A second batch through the same encoder holds only its own records.
        var writer = new ProtoWriter();
        var encoder = new OtlpLogEncoder(Resource, Limits);
        encoder.Encode(writer, [Record("A", "one"), Record("B", "two")]);
        writer.Reset();
        encoder.Encode(writer, [Record("B", "again")]);
        var second = OtlpDecoder.DecodeLogs(writer.WrittenSpan);
        Assert.Equal("again", Assert.Single(second).Body);
    }

    [Fact]
    public void Attribute_limits_drop_and_count_and_truncate()
    {
        var limits = new SpanLimits(2, 4, 128, 128, 128, 128);
        var decoded = Assert.Single(RoundTrip(limits, Record("App", "body is never truncated", new("a", "abcdefgh"), new("b", 2), new("c", 3), new("d", null))));
        Assert.Equal(2, decoded.Attributes.Count);
        Assert.Equal("abcd", decoded.Attributes["a"]);
        Assert.Equal(1u, decoded.DroppedAttributesCount);
        Assert.Equal("body is never truncated", decoded.Body);
    }

    [Fact]
    public void A_value_whose_ToString_throws_is_dropped_and_counted_and_the_record_kept()
    {
        var faultsBefore = TraceAgent.Diagnostics.AgentFaults.Total;
        var decoded = Assert.Single(RoundTrip(Limits, Record("App", "body", new("before", "kept"), new("bad", new ThrowingToString()), new("array", new object[] { "a", new ThrowingToString() }), new("after", 2))));
        Assert.Equal(["after", "before"], decoded.Attributes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("kept", decoded.Attributes["before"]);
        Assert.Equal(2L, decoded.Attributes["after"]);
        Assert.Equal(2u, decoded.DroppedAttributesCount);
        Assert.Equal("body", decoded.Body);
        Assert.True(TraceAgent.Diagnostics.AgentFaults.Total >= faultsBefore + 2);
    }

    private sealed class ThrowingToString
    {
        public override string ToString() => throw new InvalidOperationException("ToString fails on purpose");
    }
}
