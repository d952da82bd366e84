using Confluent.Kafka;

namespace TraceAgent.Bench;

/// <summary>
/// librdkafka's mock cluster, hosted by a client of the runner (test.mock.num.brokers=1) and
/// reached by the benchmark apps over 127.0.0.1 like any broker. It lives as long as this object.
/// </summary>
internal sealed class KafkaMockCluster : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly IProducer<byte[], byte[]> _host;
    private readonly IAdminClient _admin;

    public KafkaMockCluster()
    {
        _host = new ProducerBuilder<byte[], byte[]>(new ProducerConfig(new Dictionary<string, string>
        {
            ["test.mock.num.brokers"] = "1",
            ["client.id"] = "bench-mock-host",
        })).Build();
        _admin = new DependentAdminClientBuilder(_host.Handle).Build();
        var broker = _admin.GetMetadata(Wait).Brokers.Single();
        Bootstrap = $"{broker.Host}:{broker.Port}";
    }

    public string Bootstrap { get; }

    /// <summary>Asking for a topic's metadata makes the mock cluster create it; returns its partition count.</summary>
    public int CreateTopic(string name)
    {
        var topic = _admin.GetMetadata(name, Wait).Topics.Single();
        if (topic.Error.Code != ErrorCode.NoError || topic.Partitions.Count == 0)
        {
            throw new InvalidOperationException($"the mock cluster did not create {name}: {topic.Error}");
        }

        return topic.Partitions.Count;
    }

    /// <summary>
    /// Puts <paramref name="count"/> messages into a new topic, spread over its partitions, each with
    /// a traceparent header as a traced producer upstream would have written it.
    /// </summary>
    public void Fill(string topic, int count)
    {
        int partitions = CreateTopic(topic);

        // The mock cluster keeps only the newest messages of a partition (some 50,000 of these).
        if (count / partitions > 40_000)
        {
            throw new InvalidOperationException($"{count} messages are too many for the mock cluster's {partitions} partition(s) of {topic}");
        }

        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig
        {
            BootstrapServers = Bootstrap,
            QueueBufferingMaxMessages = 1_000_000,
        }).Build();
        var random = new Random(count);
        Span<byte> traceId = stackalloc byte[16];
        Span<byte> spanId = stackalloc byte[8];
        for (int i = 0; i < count; i++)
        {
            random.NextBytes(traceId);
            random.NextBytes(spanId);
            var traceparent = $"00-{Convert.ToHexStringLower(traceId)}-{Convert.ToHexStringLower(spanId)}-01";
            var message = new Message<Null, string>
            {
                Value = "benchmark message",
                Headers = new Headers { { "traceparent", System.Text.Encoding.ASCII.GetBytes(traceparent) } },
            };
            producer.Produce(new TopicPartition(topic, new Partition(i % partitions)), message);
        }

        if (producer.Flush(Wait) != 0)
        {
            throw new InvalidOperationException($"the mock cluster did not take every message for {topic}");
        }

        Console.Error.WriteLine($"kafka: {count} messages in {topic} ({partitions} partitions)");
    }

    public void Dispose()
    {
        _admin.Dispose();
        _host.Dispose();
    }
}
