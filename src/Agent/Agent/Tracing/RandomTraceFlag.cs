using System.Diagnostics;

namespace TraceAgent.Tracing;

/// <summary>
/// W3C Trace Context Level 2's random-trace-id flag (0x02) of a span, for what the agent sends
/// (traceparent headers, OTLP span flags). The runtime keeps a remote parent's flags on its child
/// but never sets the flag itself, although ActivityTraceId.CreateRandom makes all 16 bytes of a
/// trace id random. The flag is worked out here rather than written into the Activity: the app's
/// own view of the Activity (its ILogger scopes print ActivityTraceFlags) stays what the runtime made.
/// </summary>
public static class RandomTraceFlag
{
    public const ActivityTraceFlags Random = (ActivityTraceFlags)0x02;

    public static bool IsSet(Activity activity)
    {
        var traceId = activity.TraceId;
        for (var current = activity; current is not null; current = current.Parent)
        {
            if ((current.ActivityTraceFlags & Random) != 0)
            {
                return true;
            }

            var parent = current.Parent;
            if (parent is null)
            {
                // A remote (or explicitly given) parent: the runtime copied its flags, and the flag
                // belongs to whoever made the trace id. A root: the runtime made it at random,
                // unless the app installed its own Activity.TraceIdGenerator.
                return current.ParentSpanId == default
                    && current.IdFormat == ActivityIdFormat.W3C
                    && Activity.TraceIdGenerator is null;
            }

            if (parent.TraceId != traceId)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// Writes the flag into an outgoing call's Activity (client, producer) as it starts, before its
    /// Id is built: the Id is then the very traceparent to send, with no string made per request.
    /// Server and internal spans are left as the runtime made them: the app's log scopes print
    /// their ActivityTraceFlags, which would read "3" instead of "Recorded".
    /// </summary>
    public static void MarkOutgoing(Activity activity)
    {
        if (activity.Kind is ActivityKind.Client or ActivityKind.Producer
            && (activity.ActivityTraceFlags & Random) == 0
            && IsSet(activity))
        {
            activity.ActivityTraceFlags |= Random;
        }
    }

    /// <summary>
    /// The context of <paramref name="activity"/> with the flag worked out, for a span started later
    /// from a context rather than from the Activity (a Redis command span made after its request
    /// ended): the runtime copies a context's flags into the child, and the walk up the parents in
    /// <see cref="IsSet"/> ends at a child whose parent is only a context.
    /// </summary>
    public static ActivityContext ContextOf(Activity activity) =>
        new(activity.TraceId, activity.SpanId, activity.ActivityTraceFlags | (IsSet(activity) ? Random : ActivityTraceFlags.None), activity.TraceStateString);

    /// <summary>The W3C trace flags sent for a span: sampled as decided now, random as above.</summary>
    public static byte W3CFlags(Activity activity) => (byte)((activity.Recorded ? 0x01 : 0) | (IsSet(activity) ? 0x02 : 0));
}
