using System.Diagnostics;

namespace TraceAgent.Tracing;

/// <summary>
/// W3C Trace Context Level 2's random-trace-id flag (0x02) on the spans the agent sees start. The
/// runtime keeps a remote parent's flags on its child, but gives an in-process child only the
/// sampled bit, and never sets the flag on a root although <see cref="ActivityTraceId.CreateRandom"/>
/// makes all 16 bytes random. Consistent probability sampling downstream (and the W3C test suite)
/// depend on the flag travelling with the trace id, so it is set here once per span.
/// </summary>
internal static class RandomTraceFlag
{
    public const ActivityTraceFlags Random = (ActivityTraceFlags)0x02;

    public static void Apply(Activity activity)
    {
        if ((activity.ActivityTraceFlags & Random) != 0)
        {
            return;
        }

        var parent = activity.Parent;
        if (parent is not null)
        {
            // The flag belongs to the trace id: it is inherited, never invented for a continued trace.
            if ((parent.ActivityTraceFlags & Random) != 0 && parent.TraceId == activity.TraceId)
            {
                activity.ActivityTraceFlags |= Random;
            }

            return;
        }

        // A root whose trace id the runtime generated at random. An app that installed its own
        // Activity.TraceIdGenerator may not make random ids: then the flag stays unset, as the spec allows.
        if (activity.ParentSpanId == default && activity.IdFormat == ActivityIdFormat.W3C && Activity.TraceIdGenerator is null)
        {
            activity.ActivityTraceFlags |= Random;
        }
    }
}
