using System.Diagnostics;
using StackExchange.Redis.Profiling;

namespace TraceAgent.Instrumentation.StackExchangeRedis;

/// <summary>
/// One StackExchange.Redis profiling session and what the agent knows about it: the span its
/// commands become children of (none for commands run with no current Activity), how many commands
/// were handed the session and how many came back, and the failures the app observed under it.
/// Kept beside its Activity (ProfilingSessions) until that Activity stops or goes idle. One is made
/// for every request that runs a command, so it holds no more than it must: the failures' list and
/// the clock reading of a lingering session are made only when needed.
/// </summary>
internal sealed class ProfilingState
{
    public const int MaxPendingFailures = 32;

    public static readonly List<ObservedFailure> NoFailures = [];

    private List<ObservedFailure>? _failures;
    private int _issued;
    private int _completed;
    private int _sinceDrain;

    public ProfilingState(ActivityContext parent) => Parent = parent;

    public ProfilingSession Session { get; } = new();

    /// <summary>
    /// The request's context, its random-trace-id flag worked out (RandomTraceFlag.ContextOf): the
    /// commands' spans are made from it after the request ended. Default for commands that ran with
    /// no current Activity: they become root spans.
    /// </summary>
    public ActivityContext Parent { get; }

    /// <summary>Set once the Activity stopped and the state went to the tracer's follow-up list.</summary>
    public int Lingering;

    /// <summary>When the state went to the follow-up list (Stopwatch ticks).</summary>
    public long LingeringSince;

    /// <summary>The sessions' round (ProfilingSessions.Sweep) in which a command was last handed this session.</summary>
    public int LastRound;

    /// <summary>Set once the round let the state go while its Activity still ran (ProfilingSessions.Sweep).</summary>
    public int Released;

    public int InFlight => Volatile.Read(ref _issued) - Volatile.Read(ref _completed);

    /// <summary>Counts a command handed this session; true when enough have piled up to drain early.</summary>
    public bool OnIssued(int drainEvery)
    {
        Interlocked.Increment(ref _issued);
        if (Interlocked.Increment(ref _sinceDrain) >= drainEvery)
        {
            Volatile.Write(ref _sinceDrain, 0);
            return true;
        }

        return false;
    }

    public void OnCompleted(int count) => Interlocked.Add(ref _completed, count);

    public void AddFailure(Exception exception)
    {
        var failures = Failures();
        lock (failures)
        {
            foreach (var known in failures)
            {
                // An exception surfaces once per await frame it passes through.
                if (ReferenceEquals(known.Exception, exception))
                {
                    return;
                }
            }

            if (failures.Count >= MaxPendingFailures)
            {
                failures.RemoveAt(0);
            }

            failures.Add(new ObservedFailure(exception, DateTime.UtcNow));
        }
    }

    /// <summary>
    /// The failures observed so far, handed over; <see cref="NoFailures"/> (never changed by its
    /// readers) when there are none, the case of nearly every drain.
    /// </summary>
    public List<ObservedFailure> TakeFailures()
    {
        var failures = Volatile.Read(ref _failures);
        if (failures is null)
        {
            return NoFailures;
        }

        lock (failures)
        {
            if (failures.Count == 0)
            {
                return NoFailures;
            }

            var taken = new List<ObservedFailure>(failures);
            failures.Clear();
            return taken;
        }
    }

    public void ReturnFailures(List<ObservedFailure> returned)
    {
        if (returned.Count == 0)
        {
            return;
        }

        var failures = Failures();
        lock (failures)
        {
            foreach (var failure in returned)
            {
                if (failures.Count < MaxPendingFailures)
                {
                    failures.Add(failure);
                }
            }
        }
    }

    // The list doubles as its own lock; made by the first failure, once.
    private List<ObservedFailure> Failures() =>
        Volatile.Read(ref _failures) ?? Interlocked.CompareExchange(ref _failures, [], null) ?? _failures;
}

/// <summary>A Redis exception the app saw surface while the session's Activity was current.</summary>
internal sealed record ObservedFailure(Exception Exception, DateTime ObservedAt);
