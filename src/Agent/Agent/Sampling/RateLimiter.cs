using System.Diagnostics;

namespace TraceAgent.Sampling;

/// <summary>
/// A token bucket: up to <c>perSecond</c> new traces at once (at least one), refilled at
/// <c>perSecond</c> tokens a second. Taken only for new root traces, a few a second to a few
/// thousand, so a lock costs less than getting a lock-free double update right.
/// </summary>
internal sealed class RateLimiter
{
    private readonly double _perSecond;
    private readonly double _capacity;
    private readonly Func<long> _clock;
    private readonly object _gate = new();
    private double _tokens;
    private long _last;

    public RateLimiter(double perSecond)
        : this(perSecond, Stopwatch.GetTimestamp)
    {
    }

    /// <summary>With a clock in <see cref="Stopwatch"/> ticks, for tests that must not wait.</summary>
    internal RateLimiter(double perSecond, Func<long> clock)
    {
        _perSecond = perSecond;
        _capacity = Math.Max(1, perSecond);
        _tokens = _capacity;
        _clock = clock;
        _last = clock();
    }

    public bool TryAcquire()
    {
        lock (_gate)
        {
            var now = _clock();
            _tokens = Math.Min(_capacity, _tokens + ((now - _last) * _perSecond / Stopwatch.Frequency));
            _last = now;
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }
}
