using System.Diagnostics;

namespace TraceAgent.Tracing;

/// <summary>
/// Puts back the Activity that was current before an instrumentation started or stopped a span of
/// its own, only when it changed. Setting Current is not free (an AsyncLocal write), and setting a
/// stopped Activity (the request whose stop callback is running) makes the runtime throw and catch
/// an exception the app's first-chance handlers see (Activity.NotifyError) and leaves Current as
/// it was.
/// </summary>
public static class CurrentActivity
{
    public static void Restore(Activity? previous)
    {
        if (!ReferenceEquals(Activity.Current, previous) && previous is not { IsStopped: true })
        {
            Activity.Current = previous;
        }
    }
}
