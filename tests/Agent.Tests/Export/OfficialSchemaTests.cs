using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Logs;
using OfficialSpan = OpenTelemetry.Proto.Trace.V1.Span;

namespace TraceAgent.Tests.Export;

/// <summary>
/// The hand-written encoders' output decoded by the classes generated from the official OTLP .proto
/// files (opentelemetry-proto v1.11.0, tests/Otlp.Official): values of every type, edge-case text,
/// and message sizes where a hand-written length prefix could go wrong. Every string is also
/// checked as strict UTF-8 on the wire (the generated C# parser would silently replace bad bytes).
/// </summary>
public sealed class OfficialSchemaTests : IDisposable
{
    private static readonly SpanLimits NoLimits = new(1024, null, 128, 128, 128, 128);
    private readonly RecordedSources _recorded = new(new ActivitySource("official.schema", "1.2.3"));

    public void Dispose() => _recorded.Dispose();

    [Fact]
    public void A_span_decodes_with_the_official_schema()
    {
        var activity = _recorded.Source.StartActivity("GET /orders/{id}", ActivityKind.Server)!;
        activity.SetTag("http.request.method", "GET");
        activity.SetTag("http.response.status_code", 200);
        activity.SetStatus(ActivityStatusCode.Error, "boom");
        activity.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection { ["exception.type"] = "X" }));
        activity.AddLink(new ActivityLink(new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, "a=b", isRemote: true)));
        activity.Stop();

        var (request, _) = EncodeTraces(NoLimits, activity);

        var resourceSpans = Assert.Single(request.ResourceSpans);
        Assert.Equal("schema-test", Assert.Single(resourceSpans.Resource.Attributes, a => a.Key == "service.name").Value.StringValue);
        var scope = Assert.Single(resourceSpans.ScopeSpans);
        Assert.Equal("official.schema", scope.Scope.Name);
        Assert.Equal("1.2.3", scope.Scope.Version);
        var span = Assert.Single(scope.Spans);
        Assert.Equal(activity.TraceId.ToHexString(), Convert.ToHexStringLower(span.TraceId.Span));
        Assert.Equal(activity.SpanId.ToHexString(), Convert.ToHexStringLower(span.SpanId.Span));
        Assert.Equal("GET /orders/{id}", span.Name);
        Assert.Equal(OfficialSpan.Types.SpanKind.Server, span.Kind);
        Assert.Equal("GET", Attribute(span, "http.request.method").StringValue);
        Assert.Equal(200L, Attribute(span, "http.response.status_code").IntValue);
        Assert.Equal(OpenTelemetry.Proto.Trace.V1.Status.Types.StatusCode.Error, span.Status.Code);
        Assert.Equal("boom", span.Status.Message);
        Assert.Equal("X", Assert.Single(Assert.Single(span.Events).Attributes).Value.StringValue);
        Assert.Equal("a=b", Assert.Single(span.Links).TraceState);
        Assert.Equal(0x301u, Assert.Single(span.Links).Flags);
        Assert.True(span.EndTimeUnixNano >= span.StartTimeUnixNano);
    }

    [Fact]
    public void Arrays_of_every_type_decode_as_array_values()
    {
        var activity = _recorded.Source.StartActivity("arrays")!;
        activity.SetTag("strings", new[] { "a", "", "é" });
        activity.SetTag("ints", new[] { 1, -2 });
        activity.SetTag("longs", new[] { long.MaxValue, long.MinValue });
        activity.SetTag("doubles", new[] { 1.5, double.NegativeInfinity });
        activity.SetTag("bools", new[] { true, false });
        activity.SetTag("with.null", new string?[] { "x", null });
        activity.SetTag("empty", Array.Empty<string>());
        activity.Stop();

        var span = SingleSpan(EncodeTraces(NoLimits, activity).Request);

        Assert.Equal(["a", "", "é"], Attribute(span, "strings").ArrayValue.Values.Select(v => v.StringValue));
        Assert.Equal([1L, -2L], Attribute(span, "ints").ArrayValue.Values.Select(v => v.IntValue));
        Assert.Equal([long.MaxValue, long.MinValue], Attribute(span, "longs").ArrayValue.Values.Select(v => v.IntValue));
        Assert.Equal([1.5, double.NegativeInfinity], Attribute(span, "doubles").ArrayValue.Values.Select(v => v.DoubleValue));
        Assert.Equal([true, false], Attribute(span, "bools").ArrayValue.Values.Select(v => v.BoolValue));
        var withNull = Attribute(span, "with.null").ArrayValue.Values;
        Assert.Equal("x", withNull[0].StringValue);
        Assert.Equal(AnyValue.ValueOneofCase.None, withNull[1].ValueCase);
        Assert.Equal(AnyValue.ValueOneofCase.ArrayValue, Attribute(span, "empty").ValueCase);
        Assert.Empty(Attribute(span, "empty").ArrayValue.Values);
    }

    [Fact]
    public void Empty_very_long_and_non_ascii_text_arrives_unchanged()
    {
        var long1Mib = string.Concat(Enumerable.Repeat("0123456789abcdef", 64 * 1024));
        const string Text = "naïve café, 日本語, emoji 😀👍🏽, RTL שלום, zero\u200Bwidth";
        var activity = _recorded.Source.StartActivity(Text)!;
        activity.SetTag("empty", string.Empty);
        activity.SetTag("long", long1Mib);
        activity.SetTag("unicode", Text);
        activity.SetTag(Text, "key with unicode");
        activity.Stop();

        var span = SingleSpan(EncodeTraces(NoLimits, activity).Request);

        Assert.Equal(Text, span.Name);
        Assert.Equal(AnyValue.ValueOneofCase.StringValue, Attribute(span, "empty").ValueCase);
        Assert.Equal(string.Empty, Attribute(span, "empty").StringValue);
        Assert.Equal(long1Mib, Attribute(span, "long").StringValue);
        Assert.Equal(Text, Attribute(span, "unicode").StringValue);
        Assert.Equal("key with unicode", Attribute(span, Text).StringValue);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public void Truncation_never_splits_a_surrogate_pair(int limit)
    {
        // "abcd" then U+1F600 (two UTF-16 units) then "ef": a limit of 5 falls inside the pair.
        const string Value = "abcd😀ef";
        var activity = _recorded.Source.StartActivity("truncated")!;
        activity.SetTag("text", Value);
        activity.Stop();

        var limits = NoLimits with { AttributeValueLengthLimit = limit };
        var span = SingleSpan(EncodeTraces(limits, activity).Request);

        var expected = limit == 5 ? "abcd" : Value[..limit];
        Assert.Equal(expected, Attribute(span, "text").StringValue);
        Assert.DoesNotContain('\uFFFD', Attribute(span, "text").StringValue);
    }

    [Theory]
    [InlineData(17 * 1024)]
    [InlineData((2 * 1024 * 1024) + 100)]
    public void Nested_messages_beyond_16_KiB_and_2_MiB_keep_their_lengths(int size)
    {
        // Lengths over 16 KiB need a third varint byte and over 2 MiB a fourth: the encoder
        // reserves four and pads, which the schema's parser must read as the same length.
        var big = new string('x', size);
        var activity = _recorded.Source.StartActivity("big")!;
        activity.SetTag("big", big);
        activity.AddEvent(new ActivityEvent("big.event", tags: new ActivityTagsCollection { ["payload"] = big }));
        activity.Stop();
        var second = _recorded.Source.StartActivity("after")!;
        second.Stop();

        var request = EncodeTraces(NoLimits, activity, second).Request;

        var spans = Assert.Single(Assert.Single(request.ResourceSpans).ScopeSpans).Spans;
        Assert.Equal(["big", "after"], spans.Select(s => s.Name));
        Assert.Equal(size, Attribute(spans[0], "big").StringValue.Length);
        Assert.Equal(size, Assert.Single(Assert.Single(spans[0].Events).Attributes).Value.StringValue.Length);
    }

    [Theory]
    [InlineData(39, 'x')]
    [InlineData(39, '日')]
    [InlineData(40, '日')]
    [InlineData(127, 'x')]
    [InlineData(127, 'é')]
    [InlineData(128, 'é')]
    [InlineData(200, 'x')]
    public void Attributes_whose_bodies_outgrow_a_one_byte_length_keep_their_lengths(int length, char repeated)
    {
        // Attributes and their values reserve a one-byte length when the value looks short, and move
        // their body when it is not (multi-byte text, a long key, a value made into text).
        var text = new string(repeated, length);
        var longKey = "key." + new string('k', 120);
        var activity = _recorded.Source.StartActivity(text)!;
        activity.SetTag("value", text);
        activity.SetTag(longKey, 42);
        activity.SetTag("as.text", new LongText(text));
        activity.SetTag("after", true);
        activity.Stop();

        var span = SingleSpan(EncodeTraces(NoLimits, activity).Request);

        Assert.Equal(text, span.Name);
        Assert.Equal(text, Attribute(span, "value").StringValue);
        Assert.Equal(42L, Attribute(span, longKey).IntValue);
        Assert.Equal("text:" + text, Attribute(span, "as.text").StringValue);
        Assert.True(Attribute(span, "after").BoolValue);
    }

    [Fact]
    public void An_encoder_that_reuses_encoded_attribute_names_writes_the_same_spans()
    {
        // The encoder keeps the encoded form of a name seen twice as the same string object; names
        // made anew for each span are never taken for another.
        var encoder = new OtlpTraceEncoder([new("service.name", "schema-test")], NoLimits);
        var writer = new ProtoWriter(16);
        for (int round = 0; round < 4; round++)
        {
            var made = "made." + round.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var activity = _recorded.Source.StartActivity("round")!;
            activity.SetTag("constant.name", round);
            activity.SetTag(made, "v" + round.ToString(System.Globalization.CultureInfo.InvariantCulture));
            activity.Stop();

            writer.Reset();
            encoder.Encode(writer, [activity]);
            var span = SingleSpan(ExportTraceServiceRequest.Parser.ParseFrom(writer.WrittenSpan.ToArray()));

            Assert.Equal(["constant.name", made], span.Attributes.Select(a => a.Key));
            Assert.Equal(round, Attribute(span, "constant.name").IntValue);
            Assert.Equal(activity.TraceId.ToHexString(), Convert.ToHexStringLower(span.TraceId.Span));
            Assert.Equal(activity.SpanId.ToHexString(), Convert.ToHexStringLower(span.SpanId.Span));
        }
    }

    [Fact]
    public void Spans_of_several_sources_and_flags_decode_into_their_scopes()
    {
        using var others = new RecordedSources(new ActivitySource("official.other"));
        var other = others.Source;
        var remote = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), (ActivityTraceFlags)3, "ot=th:8", isRemote: true);
        var first = _recorded.Source.StartActivity("first", ActivityKind.Consumer, remote)!;
        first.Stop();
        var second = other.StartActivity("second", ActivityKind.Producer)!;
        second.Stop();

        var request = EncodeTraces(NoLimits, first, second).Request;

        var scopes = Assert.Single(request.ResourceSpans).ScopeSpans;
        Assert.Equal(["official.schema", "official.other"], scopes.Select(s => s.Scope.Name));
        var consumer = Assert.Single(scopes[0].Spans);
        Assert.Equal(OfficialSpan.Types.SpanKind.Consumer, consumer.Kind);
        Assert.Equal("ot=th:8", consumer.TraceState);

        // Trace flags 03 (sampled, random) in the low byte; HAS_IS_REMOTE and IS_REMOTE above.
        Assert.Equal(0x303u, consumer.Flags);
        Assert.Equal(remote.SpanId.ToHexString(), Convert.ToHexStringLower(consumer.ParentSpanId.Span));
        Assert.Equal(OfficialSpan.Types.SpanKind.Producer, Assert.Single(scopes[1].Spans).Kind);
    }

    [Fact]
    public void Log_records_decode_with_the_official_schema()
    {
        const string Body = "Order {OrderId} für 😀 failed";
        var record = new LogRecordData
        {
            TimestampUtc = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc),
            Category = "Orders.Checkout",
            SeverityNumber = 17,
            SeverityText = "Error",
            Body = Body,
            EventName = "OrderFailed",
            Attributes = [new("OrderId", "A-17"), new("Attempts", 3), new("Tags", new[] { "a", "b" }), new("Empty", string.Empty)],
            Exception = new InvalidOperationException("down"),
            TraceId = ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c"),
            SpanId = ActivitySpanId.CreateFromString("b7ad6b7169203331"),
            TraceFlags = ActivityTraceFlags.Recorded,
        };
        var writer = new ProtoWriter(16);
        new OtlpLogEncoder([new("service.name", "schema-test")], NoLimits).Encode(writer, [record]);
        var bytes = writer.WrittenSpan.ToArray();
        var request = ExportLogsServiceRequest.Parser.ParseFrom(bytes);
        AssertStrictUtf8(request);

        var scope = Assert.Single(Assert.Single(request.ResourceLogs).ScopeLogs);
        Assert.Equal("Orders.Checkout", scope.Scope.Name);
        var log = Assert.Single(scope.LogRecords);
        Assert.Equal(Body, log.Body.StringValue);
        Assert.Equal(OpenTelemetry.Proto.Logs.V1.SeverityNumber.Error, log.SeverityNumber);
        Assert.Equal("Error", log.SeverityText);
        Assert.Equal("OrderFailed", log.EventName);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", Convert.ToHexStringLower(log.TraceId.Span));
        Assert.Equal("b7ad6b7169203331", Convert.ToHexStringLower(log.SpanId.Span));
        Assert.Equal(1u, log.Flags);
        Assert.Equal("A-17", log.Attributes.Single(a => a.Key == "OrderId").Value.StringValue);
        Assert.Equal(3L, log.Attributes.Single(a => a.Key == "Attempts").Value.IntValue);
        Assert.Equal(["a", "b"], log.Attributes.Single(a => a.Key == "Tags").Value.ArrayValue.Values.Select(v => v.StringValue));
        Assert.Equal("InvalidOperationException", log.Attributes.Single(a => a.Key == "exception.type").Value.StringValue.Split('.')[^1]);
        Assert.Equal((ulong)new DateTimeOffset(record.TimestampUtc).ToUnixTimeMilliseconds() * 1_000_000UL, log.TimeUnixNano);
    }

    private static (ExportTraceServiceRequest Request, byte[] Bytes) EncodeTraces(SpanLimits limits, params Activity[] activities)
    {
        var encoder = new OtlpTraceEncoder([new("service.name", "schema-test")], limits);
        var writer = new ProtoWriter(16);
        encoder.Encode(writer, activities);
        var bytes = writer.WrittenSpan.ToArray();
        var request = ExportTraceServiceRequest.Parser.ParseFrom(bytes);
        AssertStrictUtf8(request);
        return (request, bytes);
    }

    private static OfficialSpan SingleSpan(ExportTraceServiceRequest request) =>
        Assert.Single(Assert.Single(Assert.Single(request.ResourceSpans).ScopeSpans).Spans);

    private static AnyValue Attribute(OfficialSpan span, string key) => Assert.Single(span.Attributes, a => a.Key == key).Value;

    /// <summary>
    /// Every string field of the decoded message, re-encoded, must be the bytes that were sent:
    /// a lone surrogate or invalid UTF-8 would have been replaced by U+FFFD on the way in, and a
    /// strict decoder finds no invalid sequence in the re-encoded form either.
    /// </summary>
    private static void AssertStrictUtf8(IMessage message)
    {
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var value = field.Accessor.GetValue(message);
            switch (value)
            {
                case string text:
                    Assert.DoesNotContain('\uFFFD', text);
                    strict.GetString(strict.GetBytes(text));
                    break;
                case IMessage nested:
                    AssertStrictUtf8(nested);
                    break;
                case System.Collections.IEnumerable list and not ByteString:
                    foreach (var item in list)
                    {
                        if (item is IMessage element)
                        {
                            AssertStrictUtf8(element);
                        }
                        else if (item is string text)
                        {
                            Assert.DoesNotContain('\uFFFD', text);
                        }
                    }

                    break;
            }
        }
    }

    private sealed class LongText(string text)
    {
        public override string ToString() => "text:" + text;
    }
}
