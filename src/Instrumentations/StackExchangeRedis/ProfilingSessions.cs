using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;
using TraceAgent.Diagnostics;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.StackExchangeRedis;

/// <summary>
/// The profiler's bookkeeping: one ProfilingSession per current Activity, kept in a table beside
/// the Activity, handed to the <see cref="SessionDrainer"/> when that Activity stops (drained there
/// if it is sampled, queued if its trace is held undecided). The stop is seen by
/// a second ActivityListener that only listens to the sources whose activities have had Redis
/// commands run under them (it is rebuilt when a new one shows up, a handful of times per process),
/// so activities of other sources pay nothing. Commands with no current Activity share one session,
/// <see cref="Orphans"/>, whose commands become root spans. A session is drained early after
/// <see cref="DrainEvery"/> commands, so an Activity that never stops holds at most that many, and
/// the once-a-second round (<see cref="Sweep"/>) lets go of one idle for <see cref="IdleRounds"/>
/// rounds, so the table never keeps an Activity the app has dropped for longer than that.
/// </summary>
internal sealed class ProfilingSessions : IDisposable
{
    public const int DrainEvery = 512;

    /// <summary>Rounds (seconds) without a command after which a running Activity's state is drained and let go.</summary>
    public const int IdleRounds = 30;

    private readonly SessionDrainer _drainer;

    // Each state is kept beside its Activity, by reference, not on it as a custom property: an
    // Activity's first custom property makes it allocate a dictionary (216 bytes, with its arrays,
    // on every request that runs a command), and each read takes that dictionary's lock and hashes
    // the key's text. The table's entry is one node (48 bytes); the stop removes it, and the round
    // removes what a stop never came for.
    private readonly ConcurrentDictionary<Activity, ProfilingState> _states = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<ActivitySource, bool> _sources = new();
    private readonly object _gate = new();

    private ActivityListener? _listener;
    private volatile bool _disposed;
    private int _round;

    public ProfilingSessions(SessionDrainer drainer)
    {
        _drainer = drainer;
        Provider = GetSession;
    }

    /// <summary>The provider every multiplexer is given (RegisterProfiler); one instance, so a foreign one can be told apart.</summary>
    public Func<ProfilingSession?> Provider { get; }

    /// <summary>The session of commands run with no current Activity.</summary>
    public ProfilingState Orphans { get; } = new(default);

    public void Start() => AppDomain.CurrentDomain.FirstChanceException += OnFirstChanceException;

    private ProfilingSession? GetSession()
    {
        try
        {
            if (_disposed || Suppression.IsActive)
            {
                return null;
            }

            var activity = Activity.Current;
            if (activity is null)
            {
                if (Orphans.OnIssued(DrainEvery))
                {
                    _drainer.ScheduleDrain(Orphans);
                }

                return Orphans.Session;
            }

            // An Activity that records no data (sampled out) makes no spans: nor do its commands.
            // One held until its trace is decided (keep errors or slow) records them.
            if (!activity.IsAllDataRequested)
            {
                return null;
            }

            if (!_states.TryGetValue(activity, out var state))
            {
                state = CreateState(activity);
            }

            state.LastRound = _round;
            if (state.OnIssued(DrainEvery))
            {
                _drainer.ScheduleDrain(state);
            }

            if (activity.IsStopped || Volatile.Read(ref state.Released) != 0)
            {
                // A command started after its Activity ended (fire and forget), or handed a session
                // the round let go meanwhile (Sweep): the timer drains it.
                _drainer.Linger(state);
            }

            return state.Session;
        }
        catch (Exception ex)
        {
            AgentFaults.Report("Redis profiling session", ex);
            return null;
        }
    }

    private ProfilingState CreateState(Activity activity)
    {
        lock (_gate)
        {
            if (_states.TryGetValue(activity, out var existing))
            {
                return existing;
            }

            var state = new ProfilingState(RandomTraceFlag.ContextOf(activity));
            _states[activity] = state;
            // TryAdd locks even for a key already there: the lock-free read first, as nearly every
            // request's source is known.
            if (!_sources.ContainsKey(activity.Source) && _sources.TryAdd(activity.Source, true))
            {
                ListenToKnownSources();
            }

            return state;
        }
    }

    private void ListenToKnownSources()
    {
        // Added before the old one is removed, so no stop is missed; a state drained twice is harmless.
        var next = new ActivityListener
        {
            ShouldListenTo = source => _sources.ContainsKey(source),
            ActivityStopped = OnActivityStopped,
        };
        ActivitySource.AddActivityListener(next);
        _listener?.Dispose();
        _listener = next;
    }

    private void OnActivityStopped(Activity activity)
    {
        try
        {
            // A command issued after this (fire and forget) gets a state of its own, which lingers
            // until its commands complete.
            if (_states.TryRemove(activity, out var state))
            {
                Stopped(activity, state);
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("Redis activity stop", ex);
        }
    }

    private void Stopped(Activity activity, ProfilingState state)
    {
        if (activity.Recorded)
        {
            _drainer.DrainNow(state);
        }
        else
        {
            _drainer.OnStopped(state);
        }
    }

    /// <summary>
    /// The once-a-second round: a state whose Activity stopped unseen (one made for a command issued
    /// after the stop) goes as a stop would send it, and one idle for <see cref="IdleRounds"/> rounds
    /// under an Activity still running is drained and let go (a later command makes a new one, under
    /// the same parent), so an Activity the app never stops is not kept alive by the table.
    /// </summary>
    public void Sweep()
    {
        var round = Interlocked.Increment(ref _round);
        foreach (var (activity, state) in _states)
        {
            if (activity.IsStopped)
            {
                if (_states.TryRemove(new KeyValuePair<Activity, ProfilingState>(activity, state)))
                {
                    Stopped(activity, state);
                }
            }
            else if (round - Volatile.Read(ref state.LastRound) >= IdleRounds && _states.TryRemove(new KeyValuePair<Activity, ProfilingState>(activity, state)))
            {
                // Marked first (a full fence, as OnIssued's count is): a command handed this session
                // just as it left the table is either counted in flight here, so the drain leaves
                // the session lingering, or sees the mark in GetSession and lingers it there.
                Interlocked.Exchange(ref state.Released, 1);
                _drainer.DrainNow(state);
            }
        }
    }

    /// <summary>The states held now (one per Activity with commands that has not stopped).</summary>
    internal int Count => _states.Count;

    /// <summary>
    /// The profiler never sees a command's result. An exception from StackExchange.Redis surfaces on
    /// the app's thread (sync calls) or at its await (async calls), where the Activity the command
    /// ran under is current again: remember it there and match it to a command at the next drain.
    /// </summary>
    private void OnFirstChanceException(object? sender, FirstChanceExceptionEventArgs e)
    {
        try
        {
            if (e.Exception is not (RedisException or RedisTimeoutException))
            {
                return;
            }

            var activity = Activity.Current;
            var state = activity is null ? Orphans : _states.TryGetValue(activity, out var found) ? found : null;
            state?.AddFailure(e.Exception);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("Redis exception observer", ex);
        }
    }

    /// <summary>No new session is handed out, failures are no longer observed and the stop listener goes.</summary>
    public void Dispose()
    {
        _disposed = true;
        AppDomain.CurrentDomain.FirstChanceException -= OnFirstChanceException;
        lock (_gate)
        {
            _listener?.Dispose();
            _listener = null;
        }
    }
}
