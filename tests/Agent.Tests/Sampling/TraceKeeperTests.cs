using System.Diagnostics;
using TraceAgent.Sampling;

namespace TraceAgent.Tests.Sampling;

/// <summary>
/// The keeper's sweep, run with a clock the test gives it: a held trace whose local root never
/// ends is given up after 10 minutes (docs/sampling.md), and a kept trace's decision is forgotten
/// 30 s after it was made.
/// </summary>
public sealed class TraceKeeperTests
{
    private static Activity Started(string name, ActivityContext parent = default)
    {
        var previous = Activity.Current;
        Activity.Current = null;
        var activity = new Activity(name);
        activity.SetIdFormat(ActivityIdFormat.W3C);
        if (parent != default)
        {
            activity.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
        }

        activity.Start();
        Activity.Current = previous;
        return activity;
    }

    private static Activity Ended(string name, ActivityContext parent, bool error = false)
    {
        var activity = Started(name, parent);
        if (error)
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }

        activity.Stop();
        return activity;
    }

    [Fact]
    public void A_trace_whose_root_never_ends_is_given_up_after_10_minutes_and_its_late_error_exports_nothing()
    {
        var exported = new List<Activity>();
        using var keeper = new TraceKeeper(exported.Add, keepErrors: true, slowerThanMilliseconds: null, maxBufferedSpans: 100);
        var root = Started("never-ends");
        var opened = Stopwatch.GetTimestamp();
        keeper.OpenRoot(root);
        keeper.OnEnd(Ended("child", root.Context));
        Assert.Equal(1, keeper.Buffered);

        keeper.Sweep(opened + (Stopwatch.Frequency * 590));
        Assert.True(keeper.IsHeld(root.TraceId));
        Assert.Equal(1, keeper.Buffered);

        keeper.Sweep(opened + (Stopwatch.Frequency * 610));
        Assert.False(keeper.IsHeld(root.TraceId));
        Assert.Equal(0, keeper.Buffered);
        Assert.Equal((0L, 1L), keeper.Decisions);

        // An error in the given-up trace, and its root's end at last, find nothing to keep.
        keeper.OnEnd(Ended("late-error", root.Context, error: true));
        root.Stop();
        keeper.OnEnd(root);
        Assert.Empty(exported);
        Assert.Equal(0, keeper.Buffered);
    }

    [Fact]
    public void A_kept_trace_takes_late_spans_for_30_seconds_after_its_decision()
    {
        var exported = new List<Activity>();
        using var keeper = new TraceKeeper(exported.Add, keepErrors: true, slowerThanMilliseconds: null, maxBufferedSpans: 100);
        var root = Started("root");
        keeper.OpenRoot(root);
        keeper.OnEnd(Ended("failed", root.Context, error: true));
        root.Stop();
        var decided = Stopwatch.GetTimestamp();
        keeper.OnEnd(root);
        Assert.Equal(["failed", "root"], exported.Select(a => a.DisplayName).Order(StringComparer.Ordinal));

        keeper.Sweep(decided + (Stopwatch.Frequency * 20));
        keeper.OnEnd(Ended("late", root.Context));
        Assert.Contains(exported, a => a.DisplayName == "late");

        keeper.Sweep(decided + (Stopwatch.Frequency * 40));
        Assert.False(keeper.IsHeld(root.TraceId));
        keeper.OnEnd(Ended("too-late", root.Context));
        Assert.DoesNotContain(exported, a => a.DisplayName == "too-late");
        Assert.Equal((1L, 0L), keeper.Decisions);
    }
}
