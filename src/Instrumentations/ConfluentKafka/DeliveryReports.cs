using System.Collections.Concurrent;
using System.Diagnostics;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// Producer spans waiting for their delivery report. A traced message carries an agent token in
/// its opaque instead of the app's; the report finds the span by that token, puts the app's opaque
/// and headers back before Confluent reads them, and ends the span with the delivery's outcome.
/// </summary>
internal sealed unsafe class DeliveryReports(KafkaTracing tracing)
{
    private static long s_nextToken = -1;

    // Spans waiting for their delivery report, by the token put in the message's opaque. Tokens are
    // odd, so they can never equal the opaque Confluent itself uses (a GCHandle, pointer-aligned) or 0.
    private readonly ConcurrentDictionary<nint, InFlight> _inFlight = new();

    public int InFlightCount => _inFlight.Count;

    /// <summary>Swaps the message's opaque for a new token that finds this span at delivery; returns the token.</summary>
    public nint Track(Activity? activity, nint* opaqueSlot, nint rk, uint written, List<NativeHeader>? appHeaders, bool partitionTagged)
    {
        nint token = (nint)Interlocked.Add(ref s_nextToken, 2);
        _inFlight[token] = new InFlight(activity, *opaqueSlot, rk, written, appHeaders, partitionTagged);
        *opaqueSlot = token;
        return token;
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

        foreach (var (token, inFlight) in _inFlight)
        {
            if (inFlight.Handle == rk && _inFlight.TryRemove(token, out _) && inFlight.Activity is not null)
            {
                KafkaTracing.Stop(inFlight.Activity, Activity.Current);
            }
        }
    }

    /// <summary>
    /// A span waiting for its delivery report; <c>Written</c> has a bit per propagator field the agent
    /// wrote, <c>PartitionTagged</c> whether the span started with a partition tag (the app chose one).
    /// </summary>
    private sealed record InFlight(Activity? Activity, nint Opaque, nint Handle, uint Written, List<NativeHeader>? AppHeaders, bool PartitionTagged);
}
