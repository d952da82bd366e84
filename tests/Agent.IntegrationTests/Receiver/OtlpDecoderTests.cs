using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Receiver;

public sealed class OtlpDecoderTests
{
    [Fact]
    public void DecodesEverySpanField()
    {
        ReceivedSpan span = Assert.Single(OtlpDecoder.DecodeTraces(OtlpPayloads.TraceRequest()));

        Assert.Equal("0af7651916cd43dd8448eb211c80319c", span.TraceId);
        Assert.Equal("b7ad6b7169203331", span.SpanId);
        Assert.Equal("00f067aa0ba902b7", span.ParentSpanId);
        Assert.False(span.IsRoot);
        Assert.Equal("vendor=value", span.TraceState);
        Assert.Equal("GET /orders/{id}", span.Name);
        Assert.Equal(SpanKinds.Server, span.Kind);
        Assert.Equal(OtlpPayloads.Start, span.StartTimeUnixNano);
        Assert.Equal(OtlpPayloads.End, span.EndTimeUnixNano);
        Assert.Equal(TimeSpan.FromMilliseconds(1.5), span.Duration);
        Assert.Equal(0x101u, span.Flags);
        Assert.Equal(2, span.StatusCode);
        Assert.Equal("boom", span.StatusMessage);
        Assert.Equal(3u, span.DroppedAttributesCount);
        Assert.Equal(4u, span.DroppedEventsCount);
        Assert.Equal(5u, span.DroppedLinksCount);

        Assert.Equal("orders-api", span.ServiceName);
        Assert.Equal(4242L, span.ResourceAttributes["process.pid"]);
        Assert.Equal("TraceAgent.AspNetCore", span.ScopeName);
        Assert.Equal("1.2.3", span.ScopeVersion);
    }

    [Fact]
    public void DecodesEveryAttributeValueType()
    {
        ReceivedSpan span = Assert.Single(OtlpDecoder.DecodeTraces(OtlpPayloads.TraceRequest()));

        Assert.Equal("GET", span.Attributes["http.request.method"]);
        Assert.Equal(500L, span.Attributes["http.response.status_code"]);
        Assert.Equal(-5L, span.Attributes["negative"]);
        Assert.Equal(0.25, span.Attributes["ratio"]);
        Assert.Equal(true, span.Attributes["sampled"]);
        Assert.Equal(new byte[] { 1, 2, 3 }, span.Attributes["blob"]);
        Assert.Equal(new object?[] { "a", 2L, null }, span.Attributes["tags"]);
        var map = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(span.Attributes["map"]);
        Assert.Equal("x", map["inner"]);
        Assert.Null(span.Attribute("missing"));
    }

    [Fact]
    public void DecodesEventsAndLinks()
    {
        ReceivedSpan span = Assert.Single(OtlpDecoder.DecodeTraces(OtlpPayloads.TraceRequest()));

        ReceivedSpanEvent ev = Assert.Single(span.Events);
        Assert.Equal("exception", ev.Name);
        Assert.Equal(OtlpPayloads.Start + 1000, ev.TimeUnixNano);
        Assert.Equal("System.InvalidOperationException", ev.Attributes["exception.type"]);
        Assert.Equal(1u, ev.DroppedAttributesCount);

        ReceivedSpanLink link = Assert.Single(span.Links);
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", link.TraceId);
        Assert.Equal("00f067aa0ba902b8", link.SpanId);
        Assert.Equal("k=v", link.TraceState);
        Assert.Equal("batch", link.Attributes["link.kind"]);
        Assert.Equal(2u, link.DroppedAttributesCount);
        Assert.Equal(0x301u, link.Flags);
    }

    [Fact]
    public void SkipsUnknownFieldsOfEveryWireTypeAtEveryLevel()
    {
        byte[] request = new TestProtoWriter()
            .UnknownFields()
            .Message(1, resourceSpans => resourceSpans
                .UnknownFields()
                .Message(1, resource => resource
                    .UnknownFields()
                    .KeyValue(1, "service.name", v => v.UnknownFields().String(1, "svc"))
                    .Message(3, entityRef => entityRef.String(2, "service")))
                .Message(2, scopeSpans => scopeSpans
                    .UnknownFields()
                    .Message(1, scope => scope.UnknownFields().String(1, "scope"))
                    .Message(2, span => span
                        .UnknownFields()
                        .String(5, "op")
                        .Message(15, status => status.Varint(1, 1).UnknownFields().Varint(3, 1))
                        .Message(11, ev => ev.UnknownFields().String(2, "e"))
                        .Message(13, link => link.UnknownFields().Bytes(2, OtlpPayloads.SpanId))
                        .UnknownFields())))
            .UnknownFields()
            .ToArray();

        ReceivedSpan span = Assert.Single(OtlpDecoder.DecodeTraces(request));

        Assert.Equal("op", span.Name);
        Assert.Equal("svc", span.ServiceName);
        Assert.Equal("scope", span.ScopeName);
        Assert.Equal(1, span.StatusCode);
        Assert.Equal("e", Assert.Single(span.Events).Name);
        Assert.Equal("b7ad6b7169203331", Assert.Single(span.Links).SpanId);
        Assert.Empty(span.Attributes);
    }

    [Fact]
    public void AppliesResourceAndScopeThatFollowTheSpans()
    {
        byte[] request = new TestProtoWriter()
            .Message(1, resourceSpans => resourceSpans
                .Message(2, scopeSpans => scopeSpans
                    .Message(2, span => span.String(5, "first"))
                    .Message(2, span => span.String(5, "second"))
                    .Message(1, scope => scope.String(1, "late-scope")))
                .Message(1, resource => resource.StringAttribute(1, "service.name", "late-service")))
            .Message(1, resourceSpans => resourceSpans
                .Message(1, resource => resource.StringAttribute(1, "service.name", "other"))
                .Message(2, scopeSpans => scopeSpans.Message(2, span => span.String(5, "third"))))
            .ToArray();

        List<ReceivedSpan> spans = OtlpDecoder.DecodeTraces(request);

        Assert.Equal(["first", "second", "third"], spans.Select(s => s.Name));
        Assert.Equal(["late-service", "late-service", "other"], spans.Select(s => s.ServiceName));
        Assert.Equal(["late-scope", "late-scope", ""], spans.Select(s => s.ScopeName));
    }

    [Fact]
    public void RootSpanHasEmptyParent()
    {
        byte[] request = new TestProtoWriter()
            .Message(1, rs => rs.Message(2, ss => ss.Message(2, span => span
                .Bytes(1, OtlpPayloads.TraceId)
                .Bytes(2, OtlpPayloads.SpanId)
                .String(5, "root"))))
            .ToArray();

        ReceivedSpan span = Assert.Single(OtlpDecoder.DecodeTraces(request));

        Assert.True(span.IsRoot);
        Assert.Equal("", span.ParentSpanId);
        Assert.Equal(0, span.Kind);
        Assert.Equal(0, span.StatusCode);
    }

    [Fact]
    public void EmptyRequestHasNoSpans()
    {
        Assert.Empty(OtlpDecoder.DecodeTraces([]));
        Assert.Empty(OtlpDecoder.DecodeLogs([]));
    }

    [Fact]
    public void RejectsTruncatedMessage()
    {
        byte[] request = OtlpPayloads.TraceRequest();

        Assert.Throws<FormatException>(() => OtlpDecoder.DecodeTraces(request.AsSpan(0, request.Length - 3)));
    }

    [Fact]
    public void RejectsKnownFieldWithWrongWireType()
    {
        // start_time_unix_nano is fixed64; sent as a varint it cannot be read as intended.
        byte[] request = new TestProtoWriter()
            .Message(1, rs => rs.Message(2, ss => ss.Message(2, span => span.Varint(7, 5))))
            .ToArray();

        Assert.Throws<FormatException>(() => OtlpDecoder.DecodeTraces(request));
    }

    [Theory]
    [InlineData(new byte[] { 0x07, 0x01 })] // field 0, invalid wire type 7
    [InlineData(new byte[] { 0x16 })] // field 2 (unknown), invalid wire type 6
    [InlineData(new byte[] { 0x14 })] // field 2 (unknown), end-group with no group open
    [InlineData(new byte[] { 0x13, 0x08, 0x01 })] // field 2 (unknown), group never closed
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })] // 11-byte varint
    public void RejectsMalformedWireFormat(byte[] request)
    {
        Assert.Throws<FormatException>(() => OtlpDecoder.DecodeTraces(request));
    }

    [Fact]
    public void DecodesEveryLogRecordField()
    {
        ReceivedLogRecord log = Assert.Single(OtlpDecoder.DecodeLogs(OtlpPayloads.LogsRequest()));

        Assert.Equal(OtlpPayloads.Start, log.TimeUnixNano);
        Assert.Equal(OtlpPayloads.End, log.ObservedTimeUnixNano);
        Assert.Equal(17, log.SeverityNumber);
        Assert.Equal("Error", log.SeverityText);
        Assert.Equal("job {id} failed", log.Body);
        Assert.Equal(77L, log.Attributes["job.id"]);
        Assert.Equal(1u, log.DroppedAttributesCount);
        Assert.Equal(1u, log.Flags);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", log.TraceId);
        Assert.Equal("b7ad6b7169203331", log.SpanId);
        Assert.Equal("job.failed", log.EventName);
        Assert.Equal("worker", log.ServiceName);
        Assert.Equal("Worker.Jobs", log.ScopeName);
        Assert.Equal("2.0", log.ScopeVersion);
    }
}
