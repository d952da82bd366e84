using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.ExceptionServices;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;
using TraceAgent.Diagnostics;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.StackExchangeRedis;

/// <summary>
/// Hands every multiplexer the agent's profiler: one ProfilingSession per current Activity, kept on
/// the Activity itself, drained into client spans when that Activity stops. The stop is seen by a
/// second ActivityListener that only listens to the sources whose activities have had Redis
/// commands run under them (it is rebuilt when a new one shows up, a handful of times per process),
/// so activities of other sources pay nothing. Commands with no current Activity share one session
/// whose commands become root spans, drained every second. A session is drained early after
/// <see cref="DrainEvery"/> commands, so an Activity that never stops holds at most that many.
/// </summary>
internal sealed class RedisTracer : IDisposable
{
    public const int DrainEvery = 512;
    private const string StateKey = "TraceAgent.StackExchangeRedis.Session";
    private const int MaxLingering = 4096;
    private static readonly long LingerTicks = Stopwatch.Frequency * 30;

    private readonly CommandSpans _spans;
    private readonly Func<ProfilingSession?> _provider;
    private readonly Action<ProfilingState> _drainAfterStop;
    private readonly ProfilingState _orphans = new(default);
    private readonly ConcurrentDictionary<ActivitySource, bool> _sources = new();
    private readonly ConcurrentDictionary<ProfilingState, bool> _lingering = new(ReferenceEqualityComparer.Instance);
    private readonly object _gate = new();
    private readonly List<(WeakReference<ConnectionMultiplexer> Multiplexer, bool Reported)> _multiplexers = [];
    private readonly FieldInfo? _profilerField;
    private readonly Timer _timer;
#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static List<IProfiledCommand>? t_commands;
#pragma warning restore IDE1006

    private ActivityListener? _listener;
    private volatile bool _disposed;

    public RedisTracer(CommandSpans spans)
    {
        _spans = spans;
        _provider = GetSession;
        _drainAfterStop = DrainAfterStop;
        _profilerField = typeof(ConnectionMultiplexer).GetField("_profilingSessionProvider", BindingFlags.NonPublic | BindingFlags.Instance);
        _timer = new Timer(static s => ((RedisTracer)s!).OnTick(), this, Timeout.Infinite, Timeout.Infinite);
    }

    public void Start()
    {
        AppDomain.CurrentDomain.FirstChanceException += OnFirstChanceException;
        _timer.Change(1000, 1000);
    }

    public void Attach(ConnectionMultiplexer multiplexer)
    {
        if (_disposed)
        {
            return;
        }

        multiplexer.RegisterProfiler(_provider);
        lock (_gate)
        {
            _multiplexers.RemoveAll(m => !m.Multiplexer.TryGetTarget(out _));
            _multiplexers.Add((new WeakReference<ConnectionMultiplexer>(multiplexer), false));
        }
    }

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
                if (_orphans.OnIssued(DrainEvery))
                {
                    ScheduleDrain(_orphans, final: false);
                }

                return _orphans.Session;
            }

            // An Activity that records no data (sampled out) makes no spans: nor do its commands.
            // One held until its trace is decided (keep errors or slow) records them.
            if (!activity.IsAllDataRequested)
            {
                return null;
            }

            if (activity.GetCustomProperty(StateKey) is not ProfilingState state)
            {
                state = CreateState(activity);
            }

            if (state.OnIssued(DrainEvery))
            {
                ScheduleDrain(state, final: false);
            }

            if (activity.IsStopped)
            {
                // A command started after its Activity ended (fire and forget): the timer drains it.
                Linger(state);
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
            if (activity.GetCustomProperty(StateKey) is ProfilingState existing)
            {
                return existing;
            }

            var state = new ProfilingState(activity.Context, _drainAfterStop);
            activity.SetCustomProperty(StateKey, state);
            if (_sources.TryAdd(activity.Source, true))
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
            if (activity.GetCustomProperty(StateKey) is ProfilingState state)
            {
                // Most sessions are complete when their Activity stops: drain once and forget them.
                // Only one with a command still in flight goes to the timer's follow-up list (a
                // command issued after the stop gets there through GetSession).
                ThreadPool.UnsafeQueueUserWorkItem(state, preferLocal: false);
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("Redis activity stop", ex);
        }
    }

    private void Linger(ProfilingState state)
    {
        if (Interlocked.Exchange(ref state.Lingering, 1) == 0)
        {
            if (_lingering.Count >= MaxLingering)
            {
                AgentFaults.Report("Redis late commands", new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"more than {MaxLingering} ended activities with Redis commands still running; their late commands are dropped")));
                return;
            }

            _lingering.TryAdd(state, true);
        }
    }

    private void ScheduleDrain(ProfilingState state, bool final) =>
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Tracer.Drain(s.State, s.Final), (Tracer: this, State: state, Final: final), preferLocal: false);

    private void DrainAfterStop(ProfilingState state)
    {
        Drain(state, final: false);
        if (state.InFlight > 0)
        {
            Linger(state);
        }
    }

    private void Drain(ProfilingState state, bool final)
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
            var state = activity is null ? _orphans : activity.GetCustomProperty(StateKey) as ProfilingState;
            state?.AddFailure(e.Exception);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("Redis exception observer", ex);
        }
    }

    private void OnTick()
    {
        try
        {
            Drain(_orphans, final: false);
            var now = Stopwatch.GetTimestamp();
            foreach (var state in _lingering.Keys)
            {
                Drain(state, final: false);
                if (state.InFlight <= 0 || now - state.Created > LingerTicks)
                {
                    _lingering.TryRemove(state, out _);
                    Drain(state, final: true);
                }
            }

            TracingOptionsProviders.CheckForForeignProviders();
            CheckForForeignProfilers();
        }
        catch (Exception ex)
        {
            AgentFaults.Report("Redis periodic drain", ex);
        }
    }

    private void CheckForForeignProfilers()
    {
        if (_profilerField is null)
        {
            return;
        }

        lock (_gate)
        {
            for (var i = _multiplexers.Count - 1; i >= 0; i--)
            {
                var (reference, reported) = _multiplexers[i];
                if (!reference.TryGetTarget(out var multiplexer))
                {
                    _multiplexers.RemoveAt(i);
                    continue;
                }

                if (!reported && _profilerField.GetValue(multiplexer) is Delegate current && !ReferenceEquals(current, _provider))
                {
                    _multiplexers[i] = (reference, true);
                    AgentLog.Warning($"Redis: the app registered its own profiler on the connection to {string.Join(",", multiplexer.GetEndPoints(configuredOnly: true).Select(e => e.ToString()))}; the agent no longer traces that connection");
                }
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        AppDomain.CurrentDomain.FirstChanceException -= OnFirstChanceException;
        _timer.Dispose();
        lock (_gate)
        {
            _listener?.Dispose();
            _listener = null;
        }

        Drain(_orphans, final: true);
        foreach (var state in _lingering.Keys)
        {
            Drain(state, final: true);
        }
    }
}
