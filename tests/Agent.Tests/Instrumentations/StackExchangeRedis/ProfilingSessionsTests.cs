using System.Diagnostics;
using StackExchange.Redis.Profiling;
using TraceAgent.Instrumentation.StackExchangeRedis;

namespace TraceAgent.Tests.Instrumentations.StackExchangeRedis;

// The profiler's bookkeeping, driven as StackExchange.Redis drives it: the session factory called
// on the thread that issues a command, under whatever Activity is current there.
public sealed class ProfilingSessionsTests : IDisposable
{
    private readonly TestSpans _spans = new();
    private readonly ProfilingSessions _sessions = new(new SessionDrainer(new CommandSpans(null)));

    public void Dispose()
    {
        _sessions.Dispose();
        _spans.Dispose();
    }

    [Fact]
    public void Each_activity_has_one_session_until_it_stops()
    {
        using var request = _spans.Start("request", ActivityKind.Server);
        var first = Issue();
        Assert.Same(first, Issue());

        using (var inner = _spans.Start("inner", ActivityKind.Internal))
        {
            Assert.NotSame(first, Issue());
            Assert.Equal(2, _sessions.Count);
        }

        Assert.Equal(1, _sessions.Count);
        Assert.Same(first, Issue());
        request.Stop();
        Assert.Equal(0, _sessions.Count);
    }

    [Fact]
    public void A_session_is_kept_beside_its_activity_not_on_it()
    {
        // A custom property would make the Activity allocate a dictionary of its own; what a
        // request's first command costs here is the state, its session and one table entry.
        using var warm = _spans.Start("warm", ActivityKind.Server);
        Issue();
        warm.Stop();
        using var request = _spans.Start("request", ActivityKind.Server);

        var before = GC.GetAllocatedBytesForCurrentThread();
        Issue();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated <= Bytes.Expected, $"the first command under a request allocated {allocated} bytes");
    }

    [Fact]
    public void A_session_idle_under_an_activity_that_never_stops_is_let_go_by_the_rounds()
    {
        // Started and never stopped, as by an app that drops an Activity: the table must not keep it.
        var abandoned = _spans.Start("abandoned", ActivityKind.Internal);
        var first = Issue();
        for (var i = 1; i < ProfilingSessions.IdleRounds; i++)
        {
            _sessions.Sweep();
        }

        // A command now and then keeps it.
        Assert.Same(first, Issue());
        for (var i = 1; i < ProfilingSessions.IdleRounds; i++)
        {
            _sessions.Sweep();
        }

        Assert.Equal(1, _sessions.Count);
        _sessions.Sweep();
        Assert.Equal(0, _sessions.Count);

        // A later command under it gets a new session, with the same parent.
        Assert.NotSame(first, Issue());
        Assert.Equal(1, _sessions.Count);
        Activity.Current = abandoned.Parent;
    }

    [Fact]
    public void A_command_issued_after_its_activity_stopped_leaves_nothing_after_the_next_round()
    {
        var request = _spans.Start("request", ActivityKind.Server);
        Issue();
        // Fire and forget: the command runs in the request's execution context after it ended.
        var context = ExecutionContext.Capture()!;
        request.Stop();
        Assert.Equal(0, _sessions.Count);

        ProfilingSession? late = null;
        ExecutionContext.Run(context, _ => late = Issue(), null);

        Assert.NotNull(late);
        Assert.Equal(1, _sessions.Count);
        _sessions.Sweep();
        Assert.Equal(0, _sessions.Count);
    }

    private ProfilingSession Issue() => _sessions.Provider() ?? throw new InvalidOperationException("no session for the current activity");

    private static class Bytes
    {
        // The state, its session and the table's node: 176 bytes on .NET 10. Kept as a custom
        // property of the Activity, as before, the same command allocated 392.
        public const int Expected = 240;
    }
}
