using System.Diagnostics;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// What the agent knows about one librdkafka handle (one producer or consumer), keyed by the
/// native <c>rd_kafka_t*</c>: learned when the handle is created (rd_kafka_new), or on first sight
/// for a handle created before the shims were in place; forgotten when it is destroyed.
/// </summary>
internal sealed class KafkaClient
{
    private readonly HandleMap<KafkaTopic> _topics = new();

    public KafkaClient(nint handle, string? name, string? groupId, DeliveryCallback? delivery, bool tracksDelivery)
    {
        Handle = handle;
        Name = name;
        GroupId = groupId;
        Delivery = delivery;
        TracksDelivery = tracksDelivery;
    }

    public nint Handle { get; }

    /// <summary>rd_kafka_name: the client.id plus "#producer-N"/"#consumer-N", unique in the process.</summary>
    public string? Name { get; }

    public string? GroupId { get; }

    /// <summary>
    /// The agent's wrapper around Confluent's delivery-report callback, if the handle has one: this
    /// reference keeps the wrapper delegate alive while librdkafka holds its function pointer.
    /// </summary>
    public DeliveryCallback? Delivery { get; }

    /// <summary>
    /// Whether every message gets a delivery report through the wrapper; only then is a producer
    /// span left open until its report.
    /// </summary>
    public bool TracksDelivery { get; }

    /// <summary>
    /// The consumer span left open (and current) after Consume returned a message. What was current
    /// before it, when anything was, is its custom property (see ConsumerShims).
    /// </summary>
    public Activity? Open;

    /// <summary>Topic handles (rd_kafka_topic_t*) of consumed messages live as long as the client.</summary>
    public KafkaTopic? Topic(nint handle, KafkaTracing tracing)
    {
        if (_topics.TryGetValue(handle, out var topic))
        {
            return topic;
        }

        string? name = tracing.Native.TopicName(handle);
        if (name is null)
        {
            return null;
        }

        topic = new KafkaTopic(name, utf8: null, tracing);
        _topics.TryAdd(handle, topic);
        return topic;
    }
}

/// <summary>The clients by handle, and the creation in progress on this thread.</summary>
internal sealed class KafkaClients
{
#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static PendingClient? t_pending;
#pragma warning restore IDE1006

    private readonly HandleMap<KafkaClient> _byHandle = new();
    private readonly NativeRdKafka _native;

    public KafkaClients(NativeRdKafka native)
    {
        _native = native;
    }

    public IEnumerable<KafkaClient> All => _byHandle.Values();

    public KafkaClient Get(nint handle) =>
        _byHandle.TryGetValue(handle, out var client)
            ? client
            : _byHandle.GetOrAdd(handle, new KafkaClient(handle, _native.Name(handle), groupId: null, delivery: null, tracksDelivery: false));

    public bool TryGet(nint handle, out KafkaClient client) => _byHandle.TryGetValue(handle, out client!);

    /// <summary>
    /// Confluent sets the delivery-report callback on the configuration and then creates the handle
    /// from it, on the same thread, in the producer's constructor; the wrapper waits here in between.
    /// </summary>
    public static void SetPendingDelivery(nint conf, DeliveryCallback callback) => t_pending = new PendingClient(conf, callback);

    public static DeliveryCallback? TakePendingDelivery(nint conf)
    {
        var pending = t_pending;
        t_pending = null;
        return pending is not null && pending.Conf == conf ? pending.Callback : null;
    }

    public void Add(KafkaClient client) => _byHandle.Set(client.Handle, client);

    public KafkaClient? Remove(nint handle) => _byHandle.TryRemove(handle, out var client) ? client : null;

    private sealed record PendingClient(nint Conf, DeliveryCallback Callback);
}
