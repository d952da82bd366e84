using System.Globalization;
using BenchmarkDotNet.Attributes;
using Confluent.Kafka;

namespace TraceAgent.Benchmarks;

/// <summary>
/// One message produced (fire and forget) and one consumed, against librdkafka's mock cluster in
/// this process (test.mock.num.brokers=1). Run in a plain process and in one with the agent's
/// startup hook: the difference is the agent's per-message cost (Producer span, header injection,
/// the delivery-report wrapper; Consumer span and header extraction).
///
/// Each iteration is a fixed number of messages so that Consume knows how many it needs. The
/// producer has no background poll thread: the benchmark polls every <see cref="PollEvery"/>
/// messages inside the measured operation, so delivery reports (where the agent ends its producer
/// spans) are served on the measured thread and their cost is counted, amortised the same way in
/// both runs; whatever is still queued at the end of an iteration is flushed outside it.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("library")]
[InvocationCount(MessagesPerIteration)]
public class KafkaBenchmarks
{
    public const int MessagesPerIteration = 50_000;

    private const int PollEvery = 1000;

    // Well under what the mock cluster retains per partition: it drops a partition's oldest messages
    // beyond a limit (about 55,000 of these messages with the agent's traceparent header, observed).
    private const int MessagesPerPartition = 25_000;

    // Iterations BenchmarkDotNet may run beyond warm-up and measurement (its extra statistics run),
    // with room to spare: Consume fails rather than measure empty polls if it runs out.
    private const int SpareIterations = 4;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private IProducer<byte[], byte[]>? _host;
    private IAdminClient? _admin;
    private IProducer<Null, string>? _producer;
    private IConsumer<Null, string>? _consumer;
    private Message<Null, string>? _message;
    private string _topic = "";
    private long _produced;

    /// <summary>Warm-up plus measured iterations of the job; Program sets it from the job it runs.</summary>
    public static int PlannedIterations { get; set; } = 3 + 10;

    [GlobalSetup(Target = nameof(Produce))]
    public void SetupProduce()
    {
        string bootstrap = StartCluster("bench-produce");
        _producer = new ProducerBuilder<Null, string>(ProducerConfig(bootstrap)).Build();
        _message = new Message<Null, string> { Value = "benchmark message" };
    }

    [GlobalSetup(Target = nameof(Consume))]
    public void SetupConsume()
    {
        string bootstrap = StartCluster("bench-consume");

        // Everything Consume will read, produced now. In the agent's run these messages carry its
        // trace headers, so each consumed message is one the agent extracts a context from. The mock
        // cluster keeps only the newest messages of a partition, so they are spread evenly over
        // enough topics and partitions that none is dropped before it is read.
        long needed = (long)(PlannedIterations + SpareIterations) * MessagesPerIteration;
        var assignment = new List<TopicPartitionOffset>();
        using (var feeder = new ProducerBuilder<Null, string>(ProducerConfig(bootstrap)).Build())
        {
            var message = new Message<Null, string> { Value = "benchmark message" };
            long produced = 0;
            for (int t = 0; produced < needed; t++)
            {
                string topic = t == 0 ? _topic : _topic + "-" + t.ToString(CultureInfo.InvariantCulture);
                var partitions = Enumerable.Range(0, CreateTopic(topic)).Select(p => new TopicPartition(topic, new Partition(p))).ToArray();
                assignment.AddRange(partitions.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
                long last = Math.Min(needed, produced + ((long)partitions.Length * MessagesPerPartition));
                for (; produced < last; produced++)
                {
                    feeder.Produce(partitions[produced % partitions.Length], message);
                    if ((produced + 1) % PollEvery == 0)
                    {
                        feeder.Poll(TimeSpan.Zero);
                    }
                }

                Flush(feeder);
            }
        }

        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "bench-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = false,

            // Prefetch generously so that Consume reads from librdkafka's local queue, not the broker.
            QueuedMinMessages = 1_000_000,
            MaxPartitionFetchBytes = 16 * 1024 * 1024,
        };
        _consumer = new ConsumerBuilder<Null, string>(config).Build();
        _consumer.Assign(assignment);

        // The first message waits for the fetch to start; it is not part of any iteration.
        _ = _consumer.Consume(Wait) ?? throw new InvalidOperationException("no message to consume from the mock cluster");
    }

    /// <summary>Delivery reports still queued go outside the measured time, in both runs alike.</summary>
    [IterationCleanup(Target = nameof(Produce))]
    public void FlushProducer() => Flush(_producer!);

    [GlobalCleanup]
    public void Cleanup()
    {
        _consumer?.Close();
        _consumer?.Dispose();
        _producer?.Dispose();
        _admin?.Dispose();
        _host?.Dispose();
    }

    [Benchmark(Description = "produce one message (fire and forget, mock cluster)")]
    public void Produce()
    {
        _producer!.Produce(_topic, _message!);
        if (++_produced % PollEvery == 0)
        {
            _producer.Poll(TimeSpan.Zero);
        }
    }

    [Benchmark(Description = "consume one message (pre-produced, mock cluster)")]
    public ConsumeResult<Null, string> Consume() =>
        _consumer!.Consume(Wait) ?? throw new InvalidOperationException("Consume ran out of pre-produced messages");

    private static ProducerConfig ProducerConfig(string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        EnableBackgroundPoll = false,
        QueueBufferingMaxMessages = 1_000_000,
    };

    private static void Flush(IProducer<Null, string> producer)
    {
        int left = producer.Flush(Wait);
        if (left != 0)
        {
            throw new InvalidOperationException($"{left} messages not delivered to the mock cluster within {Wait}");
        }
    }

    /// <summary>A mock cluster hosted by a client of its own; returns its bootstrap address.</summary>
    private string StartCluster(string topicPrefix)
    {
        _topic = topicPrefix + "-" + Guid.NewGuid().ToString("N");
        var config = new ProducerConfig(new Dictionary<string, string> { ["test.mock.num.brokers"] = "1" });
        _host = new ProducerBuilder<byte[], byte[]>(config).Build();
        _admin = new DependentAdminClientBuilder(_host.Handle).Build();
        var broker = _admin.GetMetadata(Wait).Brokers.Single();
        string bootstrap = $"{broker.Host}:{broker.Port}";
        CreateTopic(_topic);
        return bootstrap;
    }

    /// <summary>Asking for a topic's metadata makes the mock cluster create it (CreateTopics does not work there).</summary>
    private int CreateTopic(string name)
    {
        var topic = _admin!.GetMetadata(name, Wait).Topics.Single();
        if (topic.Error.Code != ErrorCode.NoError || topic.Partitions.Count == 0)
        {
            throw new InvalidOperationException($"the mock cluster did not create {name}: {topic.Error}");
        }

        return topic.Partitions.Count;
    }
}
