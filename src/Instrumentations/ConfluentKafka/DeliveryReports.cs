using System.Diagnostics;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// Producer spans waiting for their delivery report. A traced message carries an agent token in
/// its opaque instead of the app's; the report finds the span by that token, puts the app's opaque
/// and headers back before Confluent reads them, and ends the span with the delivery's outcome.
/// </summary>
internal sealed unsafe class DeliveryReports(KafkaTracing tracing, DirectSpans? direct = null)
{
    private static long s_nextToken = -1;

    // Spans waiting for their delivery report, by the token put in the message's opaque. Tokens are
    // odd, so they can never equal the opaque Confluent itself uses (a GCHandle, pointer-aligned) or 0.
    private readonly HandleMap<InFlight> _inFlight = new();

#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static KeyValuePair<string, object?>[]? t_tags;
#pragma warning restore IDE1006

    public int InFlightCount => _inFlight.Count;

    /// <summary>Swaps the message's opaque for a new token that finds this span at delivery; returns the token.</summary>
    public nint Track(Activity? activity, nint* opaqueSlot, nint rk, uint written, List<NativeHeader>? appHeaders, bool partitionTagged) =>
        Track(new ActivityInFlight(activity, partitionTagged), opaqueSlot, rk, written, appHeaders);

    /// <summary>The same for a span with no Activity (DirectSpans): the span's own holder waits for the report.</summary>
    public nint Track(InFlight inFlight, nint* opaqueSlot, nint rk, uint written, List<NativeHeader>? appHeaders)
    {
        nint token = (nint)Interlocked.Add(ref s_nextToken, 2);
        inFlight.Opaque = *opaqueSlot;
        inFlight.Handle = rk;
        inFlight.Written = written;
        inFlight.AppHeaders = appHeaders;
        _inFlight.AddNew(token, inFlight);
        *opaqueSlot = token;
        return token;
    }

    /// <summary>
    /// Ends a span with no Activity: the tags its Activity would have had, then the delivery's
    /// partition and offset, or its error; exported if sampled, measured either way.
    /// </summary>
    public void End(DirectProduce produce, int partition, long offset, string? errorType, string? description)
    {
        var tags = t_tags ??= new KeyValuePair<string, object?>[12];
        int count = 0;
        tags[count++] = new(KafkaSemantics.System, KafkaSemantics.Kafka);
        tags[count++] = new(KafkaSemantics.OperationType, KafkaSemantics.Send);
        tags[count++] = new(KafkaSemantics.OperationName, KafkaSemantics.Send);
        tags[count++] = new(KafkaSemantics.DestinationName, produce.Topic.Name);
        if (partition < 0 && produce.Partition >= 0)
        {
            partition = produce.Partition;
        }

        if (partition >= 0)
        {
            tags[count++] = new(KafkaSemantics.PartitionId, KafkaSemantics.Partition(partition));
        }

        if (produce.Key is not null)
        {
            tags[count++] = new(KafkaSemantics.MessageKey, produce.Key);
        }

        if (produce.Tombstone)
        {
            tags[count++] = new(KafkaSemantics.Tombstone, KafkaSemantics.True);
        }

        if (produce.ClientId is not null)
        {
            tags[count++] = new(KafkaSemantics.ClientId, produce.ClientId);
        }

        if (produce.Start.SamplingReason is { } reason)
        {
            tags[count++] = new(DirectStart.SamplingReasonAttribute, reason);
        }

        if (errorType is not null)
        {
            tags[count++] = new(KafkaSemantics.ErrorType, errorType);
        }
        else if (offset >= 0)
        {
            tags[count++] = new(KafkaSemantics.Offset, offset);
        }

        var start = produce.Start;
        var span = new DirectSpan(KafkaTracing.Source, start.Parent, produce.Topic.SendSpanName, ActivityKind.Producer, produce.StartUtc, DateTime.UtcNow - produce.StartUtc, tags.AsSpan(0, count))
        {
            Status = errorType is null ? ActivityStatusCode.Unset : ActivityStatusCode.Error,
            StatusDescription = errorType is null ? null : description,
            Unsampled = !start.Sampled,
        };
        direct?.Write(span, start.SpanId);
        Array.Clear(tags, 0, count);
    }

    /// <summary>The message was not enqueued: no report will come for this token.</summary>
    public void Forget(nint token) => _inFlight.TryRemove(token, out _);

    public void OnDelivery(nint message)
    {
        var m = (RdKafkaMessage*)message;
        nint token = m->Private;
        if ((token & 1) == 0 || !_inFlight.TryRemove(token, out var inFlight))
        {
            return;
        }

        m->Private = inFlight.Opaque;

        // Confluent reads a report's headers only for a message that has a delivery handler (a
        // non-zero opaque: ProduceAsync, or Produce with a handler); fire-and-forget reports it drops.
        if (inFlight.Written != 0 && inFlight.Opaque != 0)
        {
            AppHeaders.Restore(tracing, message, inFlight.Written, inFlight.AppHeaders);
        }

        if (inFlight is DirectProduce produce)
        {
            if (m->Err == 0)
            {
                End(produce, m->Partition, m->Offset, null, null);
            }
            else
            {
                End(produce, m->Partition, -1, ErrorCodeShims.Name(m->Err), "delivery failed");
            }

            return;
        }

        var activity = inFlight.Activity;
        if (activity is null)
        {
            return;
        }

        if (activity.IsAllDataRequested)
        {
            if (m->Partition >= 0)
            {
                // Produce to a topic (no partition given, the common case) started the span without the
                // tag: adding it skips SetTag's search of the span's tags for one to replace.
                if (inFlight.PartitionTagged)
                {
                    activity.SetTag(KafkaSemantics.PartitionId, KafkaSemantics.Partition(m->Partition));
                }
                else
                {
                    activity.AddTag(KafkaSemantics.PartitionId, KafkaSemantics.Partition(m->Partition));
                }
            }

            if (m->Err == 0)
            {
                if (m->Offset >= 0)
                {
                    activity.AddTag(KafkaSemantics.Offset, m->Offset);
                }
            }
            else
            {
                KafkaSemantics.SetError(activity, ErrorCodeShims.Name(m->Err), "delivery failed");
            }
        }

        KafkaTracing.Stop(activity, Activity.Current);
    }

    /// <summary>
    /// After rd_kafka_destroy has returned no delivery report can come any more: spans still waiting
    /// (messages purged, or reports never polled) end now, without a delivery status.
    /// </summary>
    public void OnDestroyed(nint rk)
    {
        if (_inFlight.IsEmpty)
        {
            return;
        }

        foreach (var inFlight in _inFlight.RemoveWhere(f => f.Handle == rk))
        {
            if (inFlight is DirectProduce produce)
            {
                End(produce, -1, -1, null, null);
            }
            else if (inFlight.Activity is not null)
            {
                KafkaTracing.Stop(inFlight.Activity, Activity.Current);
            }
        }
    }

    /// <summary>A span that is an Activity (or none: headers written under an unsampled caller).</summary>
    private sealed class ActivityInFlight(Activity? activity, bool partitionTagged) : InFlight
    {
        public override Activity? Activity { get; } = activity;

        public override bool PartitionTagged { get; } = partitionTagged;
    }
}

/// <summary>
/// A message waiting for its delivery report: the app's opaque, its handle, a bit per propagation
/// field the agent wrote (<c>Written</c>), the app's same-name headers to put back, and
/// <c>PartitionTagged</c>: whether the span started with a partition tag (the app chose one).
/// </summary>
internal abstract class InFlight
{
    public nint Opaque { get; set; }

    public nint Handle { get; set; }

    public uint Written { get; set; }

    public List<NativeHeader>? AppHeaders { get; set; }

    public abstract Activity? Activity { get; }

    public abstract bool PartitionTagged { get; }
}

/// <summary>A producer span with no Activity (DirectSpans), from its start to its delivery report.</summary>
internal sealed class DirectProduce(DirectStart start, KafkaTopic topic, int partition, string? key, bool tombstone, string? clientId) : InFlight
{
    public override Activity? Activity => null;

    public override bool PartitionTagged => Partition >= 0;

    public DirectStart Start { get; } = start;

    public KafkaTopic Topic { get; } = topic;

    /// <summary>The partition the app chose, or -1.</summary>
    public int Partition { get; } = partition;

    public string? Key { get; } = key;

    public bool Tombstone { get; } = tombstone;

    public string? ClientId { get; } = clientId;

    /// <summary>Read once: the span's end is its duration from here, as an Activity's is.</summary>
    public DateTime StartUtc { get; } = DateTime.UtcNow;
}
