using Confluent.Kafka;

namespace TraceAgent.IntegrationTests.Kafka;

/// <summary>
/// A Kafka broker for the tests: librdkafka's mock cluster, hosted by a client in the test process
/// made with test.mock.num.brokers=1 and alive as long as that client. It listens on 127.0.0.1 and a
/// port of its choosing, read back from the cluster's metadata; other processes connect to it there.
/// This process has no agent, so the clients here are uninstrumented.
/// </summary>
public sealed class KafkaMockCluster : IDisposable
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);

    private readonly IProducer<byte[], byte[]> _host;
    private readonly IAdminClient _admin;

    private KafkaMockCluster(IProducer<byte[], byte[]> host, IAdminClient admin, string bootstrapServers)
    {
        _host = host;
        _admin = admin;
        BootstrapServers = bootstrapServers;
    }

    public string BootstrapServers { get; }

    public static KafkaMockCluster Start()
    {
        var config = new ProducerConfig(new Dictionary<string, string> { ["test.mock.num.brokers"] = "1" });
        var host = new ProducerBuilder<byte[], byte[]>(config).Build();
        var admin = new DependentAdminClientBuilder(host.Handle).Build();
        var metadata = admin.GetMetadata(MetadataTimeout);
        var broker = Assert.Single(metadata.Brokers);
        return new KafkaMockCluster(host, admin, $"{broker.Host}:{broker.Port}");
    }

    /// <summary>
    /// Asking for a topic's metadata makes the mock cluster create it, with its default number of
    /// partitions (CreateTopics fails: the mock reports no controller). Returns the partition count.
    /// </summary>
    public int CreateTopic(string topic)
    {
        var created = Assert.Single(_admin.GetMetadata(topic, MetadataTimeout).Topics);
        Assert.Equal(ErrorCode.NoError, created.Error.Code);
        Assert.NotEmpty(created.Partitions);
        return created.Partitions.Count;
    }

    /// <summary>Sends one message with no headers (this process has no agent) and waits for its delivery.</summary>
    public void Produce(string topic, string value)
    {
        var delivered = _host.ProduceAsync(topic, new Message<byte[], byte[]> { Key = [], Value = System.Text.Encoding.UTF8.GetBytes(value) }).GetAwaiter().GetResult();
        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
    }

    /// <summary>Reads every partition of <paramref name="topic"/> from the start until <paramref name="count"/> messages came.</summary>
    public List<ConsumeResult<byte[]?, byte[]?>> Read(string topic, int count, TimeSpan timeout)
    {
        int partitions = CreateTopic(topic);
        var config = new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = "test-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
        };
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, new Partition(p), Offset.Beginning)));
        var results = new List<ConsumeResult<byte[]?, byte[]?>>();
        using var deadline = new CancellationTokenSource(timeout);
        while (results.Count < count)
        {
            try
            {
                results.Add(consumer.Consume(deadline.Token));
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{results.Count} of {count} messages read from {topic} within {timeout}");
            }
        }

        consumer.Close();
        return results;
    }

    public void Dispose()
    {
        _admin.Dispose();
        _host.Dispose();
    }
}
