using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis.Profiling;
using TraceAgent.Diagnostics;

namespace TraceAgent.Instrumentation.StackExchangeRedis;

/// <summary>
/// Turns what a profiling session recorded into client spans (<see cref="CommandSpans"/>): as its
/// Activity stops when that Activity is sampled (<see cref="DrainNow"/>), within
/// <see cref="StoppedDelayMs"/> of the stop when its trace is held undecided, when it has collected
/// <see cref="ProfilingSessions.DrainEvery"/> commands, and, for sessions with commands still running
/// after their Activity ended ("lingering"), on every tick until they complete or
/// <see cref="LingerTicks"/> have passed.
/// </summary>
internal sealed class SessionDrainer : IDisposable
{
    /// <summary>
    /// How long a stopped Activity's session waits to be drained with the others stopped meanwhile.
    /// One thread-pool work item per stopped request woke a worker per request, and the pool's
    /// spinning cost more CPU than the drain itself; one timer round per period does not.
    /// </summary>
    public const int StoppedDelayMs = 20;

    private const int MaxLingering = 4096;
    private static readonly long LingerTicks = Stopwatch.Frequency * 30;

    private readonly CommandSpans _spans;
    private readonly ConcurrentQueue<ProfilingState> _stopped = new();
    private readonly Timer _stoppedTimer;
    private int _stoppedArmed;

#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static List<IProfiledCommand>? t_commands;
#pragma warning restore IDE1006

    private readonly ConcurrentDictionary<ProfilingState, bool> _lingering = new(ReferenceEqualityComparer.Instance);

    public SessionDrainer(CommandSpans spans)
    {
        _spans = spans;
        _stoppedTimer = new Timer(static s => ((SessionDrainer)s!).DrainStopped(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>
    /// Drains the session of an Activity that stopped; a command still in flight sends it to the
    /// lingering list. Called in the stop callback, on the app's thread, when the Activity is
    /// sampled: its spans will be exported whatever happens next, and making them there, with the
    /// commands still in the thread's cache, costs less than queueing them for a timer round on
    /// another thread (measured with the per-operation benchmark's Redis row). The timer's round
    /// calls it for the sessions queued by <see cref="OnStopped"/>.
    /// </summary>
    public void DrainNow(ProfilingState state)
    {
        Drain(state, final: false);
        if (state.InFlight > 0)
        {
            Linger(state);
        }
    }

    /// <summary>
    /// A session whose Activity stopped undecided (its trace held until its local root ends: keep
    /// errors or slow), queued from the stop callback on the app's thread; the first one queued since
    /// the last round arms the timer. By the round, the local root has usually ended, and the
    /// commands of a dropped trace are let go without making spans.
    /// </summary>
    public void OnStopped(ProfilingState state)
    {
        _stopped.Enqueue(state);
        if (Interlocked.Exchange(ref _stoppedArmed, 1) == 0)
        {
            _stoppedTimer.Change(StoppedDelayMs, Timeout.Infinite);
        }
    }

    /// <summary>
    /// Drains every queued stopped session: the timer's round, and once more at shutdown. Most are
    /// complete and are forgotten; one with a command still in flight goes to the lingering list (a
    /// command issued after the stop gets there through GetSession).
    /// </summary>
    public void DrainStopped()
    {
        // Disarmed first, with a full fence (as OnStopped arms): the queue is read only after the
        // disarm is visible, so a session queued meanwhile is either drained now or arms a round.
        Interlocked.Exchange(ref _stoppedArmed, 0);
        try
        {
            while (_stopped.TryDequeue(out var state))
            {
                DrainNow(state);
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("Redis drain round", ex);
        }
    }

    /// <summary>At shutdown: no further rounds, and what is queued is drained now.</summary>
    public void Dispose()
    {
        _stoppedTimer.Dispose();
        DrainStopped();
    }

    /// <summary>Keeps a session whose Activity has ended, with commands still running, for the timer.</summary>
    public void Linger(ProfilingState state)
    {
        if (Interlocked.Exchange(ref state.Lingering, 1) == 0)
        {
            state.LingeringSince = Stopwatch.GetTimestamp();
            if (_lingering.Count >= MaxLingering)
            {
                AgentFaults.Report("Redis late commands", new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"more than {MaxLingering} ended activities with Redis commands still running; their late commands are dropped")));
                return;
            }

            _lingering.TryAdd(state, true);
        }
    }

    public void ScheduleDrain(ProfilingState state) =>
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Drainer.Drain(s.State, final: false), (Drainer: this, State: state), preferLocal: false);

    /// <summary>The timer's round: lingering sessions drained, and let go once complete or too old.</summary>
    public void DrainLingering()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var state in _lingering.Keys)
        {
            Drain(state, final: false);
            if (state.InFlight <= 0 || now - state.LingeringSince > LingerTicks)
            {
                _lingering.TryRemove(state, out _);
                Drain(state, final: true);
            }
        }
    }

    /// <summary>At shutdown: whatever the lingering sessions hold becomes spans now.</summary>
    public void DrainLingeringFinal()
    {
        foreach (var state in _lingering.Keys)
        {
            Drain(state, final: true);
        }
    }

    public void Drain(ProfilingState state, bool final)
    {
        try
        {
            lock (state)
            {
                // Spans are written before this returns, on this thread: one list per thread serves.
                var commands = t_commands ??= [];
                commands.Clear();
                var completed = 0;
                foreach (var command in state.Session.FinishProfiling())
                {
                    commands.Add(command);
                    if (command.RetransmissionOf is null)
                    {
                        completed++;
                    }
                }

                state.OnCompleted(completed);
                var failures = state.TakeFailures();
                if (commands.Count == 0 && failures.Count == 0)
                {
                    return;
                }

                _spans.Write(state, commands, failures, final);
                commands.Clear();
                state.ReturnFailures(failures);
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("Redis span creation", ex);
        }
    }
}
