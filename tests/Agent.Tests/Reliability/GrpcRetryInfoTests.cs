using TraceAgent.Export;

namespace TraceAgent.Tests.Reliability;

public sealed class GrpcRetryInfoTests
{
    // google.rpc.Status { code 14, message "busy", details [Any { RetryInfo { retry_delay { seconds 2, nanos 500000000 } } }] }
    private static byte[] Status(long seconds, long nanos, string type = "type.googleapis.com/google.rpc.RetryInfo")
    {
        var duration = new ProtoWriter();
        duration.WriteVarintField(1, (ulong)seconds);
        if (nanos != 0)
        {
            duration.WriteVarintField(2, (ulong)nanos);
        }

        var retryInfo = new ProtoWriter();
        retryInfo.WriteBytesField(1, duration.WrittenSpan);
        var any = new ProtoWriter();
        any.WriteStringField(1, type);
        any.WriteBytesField(2, retryInfo.WrittenSpan);
        var status = new ProtoWriter();
        status.WriteVarintField(1, 14);
        status.WriteStringField(2, "busy");
        status.WriteBytesField(3, any.WrittenSpan);
        return status.WrittenSpan.ToArray();
    }

    [Fact]
    public void Retry_delay_is_read_from_the_status_details()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(2500), GrpcRetryInfo.FromStatus(Status(2, 500_000_000)));
        Assert.Equal(TimeSpan.FromSeconds(1), GrpcRetryInfo.FromTrailer(Convert.ToBase64String(Status(1, 0)).TrimEnd('=')));
    }

    [Fact]
    public void Other_details_huge_delays_and_garbage_are_handled()
    {
        Assert.Null(GrpcRetryInfo.FromStatus(Status(2, 0, "type.googleapis.com/google.rpc.DebugInfo")));
        Assert.Equal(TimeSpan.FromMinutes(5), GrpcRetryInfo.FromStatus(Status(100_000, 0)));
        Assert.Null(GrpcRetryInfo.FromTrailer("not base64 at all!"));
        Assert.Null(GrpcRetryInfo.FromTrailer(null));
        var random = new Random(7);
        var bytes = new byte[64];
        for (var i = 0; i < 10_000; i++)
        {
            random.NextBytes(bytes);
            _ = GrpcRetryInfo.FromStatus(bytes.AsSpan(0, random.Next(bytes.Length)));
        }
    }
}
