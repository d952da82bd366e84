using System.Reflection;
using StackExchange.Redis;
using TraceAgent.Diagnostics;

namespace TraceAgent.Instrumentation.StackExchangeRedis;

/// <summary>
/// Hands every multiplexer the agent's profiler and runs the once-a-second round. The parts:
/// <see cref="ProfilingSessions"/> (a session per current Activity), <see cref="SessionDrainer"/>
/// (sessions into spans) and, here, the multiplexers attached, checked each round for a profiler the
/// app registered over the agent's. Commands with no current Activity are drained every round.
/// </summary>
internal sealed class RedisTracer : IDisposable
{
    private readonly SessionDrainer _drainer;
    private readonly ProfilingSessions _sessions;
    private readonly object _gate = new();
    private readonly List<Attached> _multiplexers = [];
    private readonly FieldInfo? _profilerField;
    private readonly Timer _timer;
    private volatile bool _disposed;

    public RedisTracer(CommandSpans spans)
    {
        _drainer = new SessionDrainer(spans);
        _sessions = new ProfilingSessions(_drainer);
        _profilerField = typeof(ConnectionMultiplexer).GetField("_profilingSessionProvider", BindingFlags.NonPublic | BindingFlags.Instance);
        _timer = new Timer(static s => ((RedisTracer)s!).OnTick(), this, Timeout.Infinite, Timeout.Infinite);
    }

    public void Start()
    {
        _sessions.Start();
        _timer.Change(1000, 1000);
    }

    public void Attach(ConnectionMultiplexer multiplexer)
    {
        if (_disposed)
        {
            return;
        }

        multiplexer.RegisterProfiler(_sessions.Provider);
        lock (_gate)
        {
            _multiplexers.RemoveAll(m => !m.Multiplexer.TryGetTarget(out _));
            _multiplexers.Add(new Attached(new WeakReference<ConnectionMultiplexer>(multiplexer)));
        }
    }

    private void OnTick()
    {
        try
        {
            _drainer.Drain(_sessions.Orphans, final: false);
            _sessions.Sweep();
            _drainer.DrainLingering();
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
                var attached = _multiplexers[i];
                if (!attached.Multiplexer.TryGetTarget(out var multiplexer))
                {
                    _multiplexers.RemoveAt(i);
                    continue;
                }

                if (!attached.Reported && _profilerField.GetValue(multiplexer) is Delegate current && !ReferenceEquals(current, _sessions.Provider))
                {
                    attached.Reported = true;
                    AgentLog.Warning($"Redis: the app registered its own profiler on the connection to {string.Join(",", multiplexer.GetEndPoints(configuredOnly: true).Select(e => e.ToString()))}; the agent no longer traces that connection");
                }
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _sessions.Dispose();
        _timer.Dispose();
        _drainer.Dispose();
        _drainer.Drain(_sessions.Orphans, final: true);
        _drainer.DrainLingeringFinal();
    }

    /// <summary>
    /// A multiplexer the agent's profiler is registered on (a class, not a tuple: a list of a tuple
    /// with a value in it has no precompiled code, and the JIT would compile its methods).
    /// </summary>
    private sealed class Attached(WeakReference<ConnectionMultiplexer> multiplexer)
    {
        public WeakReference<ConnectionMultiplexer> Multiplexer { get; } = multiplexer;

        /// <summary>Whether the app's own profiler on it was reported.</summary>
        public bool Reported { get; set; }
    }
}
