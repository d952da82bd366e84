using System.IO.Compression;

namespace TraceAgent.IntegrationTests.Receiver;

/// <summary>Hand-built OTLP export requests with known contents, and the framings they travel in.</summary>
internal static class OtlpPayloads
{
    public static readonly byte[] TraceId = Convert.FromHexString("0af7651916cd43dd8448eb211c80319c");
    public static readonly byte[] SpanId = Convert.FromHexString("b7ad6b7169203331");
    public static readonly byte[] ParentId = Convert.FromHexString("00f067aa0ba902b7");
    public static readonly byte[] LinkedTraceId = Convert.FromHexString("4bf92f3577b34da6a3ce929d0e0e4736");
    public static readonly byte[] LinkedSpanId = Convert.FromHexString("00f067aa0ba902b8");

    public const ulong Start = 1_700_000_000_000_000_000;
    public const ulong End = Start + 1_500_000; // 1.5 ms later

    /// <summary>An ExportTraceServiceRequest with one resource, one scope and one fully populated span.</summary>
    public static byte[] TraceRequest(string spanName = "GET /orders/{id}", string serviceName = "orders-api") =>
        new TestProtoWriter()
            .Message(1, resourceSpans => resourceSpans
                .Message(1, resource => resource
                    .StringAttribute(1, "service.name", serviceName)
                    .KeyValue(1, "process.pid", v => v.Int64(3, 4242))
                    .Varint(2, 0))
                .Message(2, scopeSpans => scopeSpans
                    .Message(1, scope => scope.String(1, "TraceAgent.AspNetCore").String(2, "1.2.3"))
                    .Message(2, span => FullSpan(span, spanName))
                    .String(3, "https://opentelemetry.io/schemas/1.26.0"))
                .String(3, "https://opentelemetry.io/schemas/1.26.0"))
            .ToArray();

    public static TestProtoWriter FullSpan(TestProtoWriter span, string name) => span
        .Bytes(1, TraceId)
        .Bytes(2, SpanId)
        .String(3, "vendor=value")
        .Bytes(4, ParentId)
        .String(5, name)
        .Varint(6, 2)
        .Fixed64(7, Start)
        .Fixed64(8, End)
        .StringAttribute(9, "http.request.method", "GET")
        .KeyValue(9, "http.response.status_code", v => v.Int64(3, 500))
        .KeyValue(9, "negative", v => v.Int64(3, -5))
        .KeyValue(9, "ratio", v => v.Double(4, 0.25))
        .KeyValue(9, "sampled", v => v.Varint(2, 1))
        .KeyValue(9, "blob", v => v.Bytes(7, [1, 2, 3]))
        .KeyValue(9, "tags", v => v.Message(5, array => array
            .Message(1, e => e.String(1, "a"))
            .Message(1, e => e.Int64(3, 2))
            .Message(1, _ => { })))
        .KeyValue(9, "map", v => v.Message(6, list => list.StringAttribute(1, "inner", "x")))
        .Varint(10, 3)
        .Message(11, ev => ev
            .Fixed64(1, Start + 1000)
            .String(2, "exception")
            .StringAttribute(3, "exception.type", "System.InvalidOperationException")
            .Varint(4, 1))
        .Varint(12, 4)
        .Message(13, link => link
            .Bytes(1, LinkedTraceId)
            .Bytes(2, LinkedSpanId)
            .String(3, "k=v")
            .StringAttribute(4, "link.kind", "batch")
            .Varint(5, 2)
            .Fixed32(6, 0x301))
        .Varint(14, 5)
        .Message(15, status => status.String(2, "boom").Varint(3, 2))
        .Fixed32(16, 0x101);

    public static byte[] LogsRequest() =>
        new TestProtoWriter()
            .Message(1, resourceLogs => resourceLogs
                .Message(1, resource => resource.StringAttribute(1, "service.name", "worker"))
                .Message(2, scopeLogs => scopeLogs
                    .Message(1, scope => scope.String(1, "Worker.Jobs").String(2, "2.0"))
                    .Message(2, log => log
                        .Fixed64(1, Start)
                        .Varint(2, 17)
                        .String(3, "Error")
                        .Message(5, body => body.String(1, "job {id} failed"))
                        .KeyValue(6, "job.id", v => v.Int64(3, 77))
                        .Varint(7, 1)
                        .Fixed32(8, 1)
                        .Bytes(9, TraceId)
                        .Bytes(10, SpanId)
                        .Fixed64(11, End)
                        .String(12, "job.failed")
                        .UnknownFields())))
            .ToArray();

    public static byte[] Gzip(byte[] data)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>The 5-byte gRPC message prefix (compressed flag, big-endian length) followed by the message.</summary>
    public static byte[] GrpcFrame(byte[] message, bool compressed)
    {
        byte[] frame = new byte[5 + message.Length];
        frame[0] = compressed ? (byte)1 : (byte)0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }
}
