using System.Runtime.InteropServices;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// librdkafka's public <c>rd_kafka_message_t</c> (rdkafka.h), stable since 0.9. <c>Private</c> is the
/// producer's per-message opaque in delivery reports and internal on consumed messages.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RdKafkaMessage
{
    public int Err;
    public nint Topic;
    public int Partition;
    public nint Payload;
    public nuint Length;
    public nint Key;
    public nuint KeyLength;
    public long Offset;
    public nint Private;
}
