using System.Diagnostics;
using TraceAgent.Diagnostics;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// Consumer side. Consume(timeout) and Consume(CancellationToken) (which loops over short timeouts)
/// both end in <c>Librdkafka._consumer_poll(rk, timeout)</c>, which hands back the native message
/// Confluent then reads. The shim ends the handle's previous span, calls the real poll, and for a
/// real message (not an empty poll, not an error or end-of-partition event) reads the propagators'
/// headers and starts a Consumer span that stays open, and current, until the same handle's next
/// Consume, Commit, Close or Dispose.
///
/// Activity.Current is an AsyncLocal. Consume is synchronous, so the span it makes current stays
/// current for the caller after it returns: in a plain loop until the next Consume, in an async
/// method until that method returns (code awaited after Consume sees it; the method's own caller
/// does not). If the app calls Consume inside Task.Run or another thread and hands the result back,
/// the handling code does not see the span as current (the span is still made and timed).
/// </summary>
internal sealed unsafe class ConsumerShims
{
    private const string PreviousProperty = "TraceAgent.Kafka.Previous";

    private readonly KafkaTracing _tracing;
    private readonly ProducerShims _producer;
    private readonly Func<nint, nint, nint> _poll;
    private readonly Func<nint, nint, nint, Delegate?, nint, int> _commitQueue;
    private readonly Action<nint> _destroy;
    private readonly Action<nint, nint> _destroyFlags;

    public ConsumerShims(
        KafkaTracing tracing,
        ProducerShims producer,
        Func<nint, nint, nint> poll,
        Delegate commitQueue,
        Action<nint> destroy,
        Action<nint, nint> destroyFlags)
    {
        _tracing = tracing;
        _producer = producer;
        _poll = poll;
        _commitQueue = DelegateAdapter.Invoker<Func<nint, nint, nint, Delegate?, nint, int>>(commitQueue);
        _destroy = destroy;
        _destroyFlags = destroyFlags;
    }

    public nint Poll(nint rk, nint timeout)
    {
        var client = End(rk);
        nint message = _poll(rk, timeout);
        if (message != 0)
        {
            try
            {
                OnMessage(rk, message, client);
            }
            catch (Exception ex)
            {
                AgentFaults.Report("kafka consume", ex);
            }
        }

        return message;
    }

    public int CommitQueue(nint rk, nint offsets, nint queue, Delegate? callback, nint opaque)
    {
        End(rk);
        return _commitQueue(rk, offsets, queue, callback, opaque);
    }

    public void Destroy(nint rk)
    {
        End(rk);
        _destroy(rk);
        Forget(rk);
    }

    public void DestroyFlags(nint rk, nint flags)
    {
        End(rk);
        _destroyFlags(rk, flags);
        Forget(rk);
    }

    private void Forget(nint rk)
    {
        try
        {
            _tracing.Clients.Remove(rk);
            _producer.OnDestroyed(rk);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("kafka destroy", ex);
        }
    }

    /// <summary>
    /// Ends the handle's open span; tracked per handle, as Close or Dispose may run on another
    /// thread. Returns the handle's client, if known, for the poll that follows.
    /// </summary>
    internal KafkaClient? End(nint rk)
    {
        try
        {
            if (!_tracing.Clients.TryGet(rk, out var client))
            {
                return null;
            }

            var open = Interlocked.Exchange(ref client.Open, null);
            if (open is not null)
            {
                var current = Activity.Current;
                KafkaTracing.Stop(open, ReferenceEquals(current, open) ? Usable(open.GetCustomProperty(PreviousProperty) as Activity) : current);
            }

            return client;
        }
        catch (Exception ex)
        {
            AgentFaults.Report("kafka consume", ex);
            return null;
        }
    }

    private void OnMessage(nint rk, nint message, KafkaClient? known)
    {
        var m = (RdKafkaMessage*)message;
        if (m->Err != 0)
        {
            // End of partition, or an error Confluent turns into an exception: no message, no span.
            return;
        }

        var client = known ?? _tracing.Clients.Get(rk);
        var topic = client.Topic(m->Topic, _tracing);
        if (topic is null || topic.Excluded)
        {
            return;
        }

        IReadOnlyList<KeyValuePair<string, string?>> baggage = [];
        nint messageHeaders = _tracing.Native.MessageHeaders(message);
        if (!ConsumerHeaderReader.TryReadTraceParentOnly(_tracing, messageHeaders, out ActivityContext remote, out bool found))
        {
            var headers = ConsumerHeaderReader.ReadPropagationHeaders(_tracing, messageHeaders);
            found = headers.Count > 0 && _tracing.Propagator.TryExtract(headers, ConsumerHeaderReader.GetHeader, out remote, out baggage);
            headers.Clear();
        }

        var current = Activity.Current;

        // When the current span is another consumer's open span (two consumers polled in turn on one
        // thread), start from what was current before it, so spans do not chain through each other.
        var previous = current?.GetCustomProperty(PreviousProperty) is Activity before ? Usable(before) : current;
        SingleLink? links = found ? SingleLink.To(remote) : null;
        var tags = KafkaTracing.RentTags();
        Activity? activity;
        try
        {
            tags.Add(new(KafkaSemantics.System, KafkaSemantics.Kafka));
            tags.Add(new(KafkaSemantics.OperationType, KafkaSemantics.Process));
            tags.Add(new(KafkaSemantics.OperationName, KafkaSemantics.Process));
            tags.Add(new(KafkaSemantics.DestinationName, topic.Name));
            tags.Add(new(KafkaSemantics.PartitionId, KafkaSemantics.Partition(m->Partition)));
            tags.Add(new(KafkaSemantics.Offset, m->Offset));
            if (KafkaSemantics.KeyText(m->Key, m->KeyLength) is { } key)
            {
                tags.Add(new(KafkaSemantics.MessageKey, key));
            }

            if (m->Payload == 0)
            {
                tags.Add(new(KafkaSemantics.Tombstone, KafkaSemantics.True));
            }

            if (client.GroupId is not null)
            {
                tags.Add(new(KafkaSemantics.ConsumerGroup, client.GroupId));
            }

            if (client.Name is not null)
            {
                tags.Add(new(KafkaSemantics.ClientId, client.Name));
            }

            if (_tracing.LinkOnly)
            {
                // A new trace per message: nothing may be taken as the parent, not even the caller's span.
                Activity.Current = null;
                activity = KafkaTracing.Source.StartActivity(topic.ProcessSpanName, ActivityKind.Consumer, default(ActivityContext), tags, links);
            }
            else
            {
                if (!ReferenceEquals(current, previous))
                {
                    Activity.Current = previous;
                }

                activity = KafkaTracing.Source.StartActivity(topic.ProcessSpanName, ActivityKind.Consumer, found ? remote : default, tags, links);
            }
        }
        finally
        {
            KafkaTracing.ReturnTags(tags);
        }

        if (activity is null)
        {
            CurrentActivity.Restore(current);

            return;
        }

        if (previous is not null)
        {
            activity.SetCustomProperty(PreviousProperty, previous);
        }

        for (int i = 0; i < baggage.Count; i++)
        {
            activity.AddBaggage(baggage[i].Key, baggage[i].Value);
        }

        // Left current on purpose: the app handles the message under this span (see the class comment).
        client.Open = activity;
    }

    private static Activity? Usable(Activity? activity) => activity is { IsStopped: false } ? activity : null;
}
