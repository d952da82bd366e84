namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// What one <c>rd_kafka_produceva</c> call carries, read from Confluent's stack array of
/// (type, value) pairs: topic, partition, flags, value, key, timestamp, headers list, opaque. The
/// headers and opaque entries are kept as pointers into that array, because the producer shim
/// writes into them before librdkafka reads the array.
/// </summary>
internal unsafe ref struct ProduceArguments
{
    public nint Topic;
    public int Partition;
    public nint Value;
    public nint Key;
    public nuint KeyLength;
    public nint* HeadersSlot;
    public nint* OpaqueSlot;

    public static ProduceArguments Read(VuLayout layout, nint vus, int count)
    {
        var arguments = new ProduceArguments { Partition = -1 };
        for (int i = 0; i < count; i++)
        {
            byte* entry = (byte*)vus + (i * layout.Size);
            int type = *(int*)entry;
            byte* data = entry + layout.DataOffset;
            if (type == layout.Topic)
            {
                arguments.Topic = *(nint*)data;
            }
            else if (type == layout.Partition)
            {
                arguments.Partition = *(int*)data;
            }
            else if (type == layout.Value)
            {
                arguments.Value = *(nint*)data;
            }
            else if (type == layout.Key)
            {
                arguments.Key = *(nint*)data;
                arguments.KeyLength = *(nuint*)(data + sizeof(nint));
            }
            else if (type == layout.Headers)
            {
                arguments.HeadersSlot = (nint*)data;
            }
            else if (type == layout.Opaque)
            {
                arguments.OpaqueSlot = (nint*)data;
            }
        }

        return arguments;
    }
}

/// <summary>Where things are in Confluent's rd_kafka_vu array (read from its types at start-up).</summary>
internal sealed record VuLayout(int Size, int DataOffset, int Topic, int Partition, int Value, int Key, int Opaque, int Headers);
