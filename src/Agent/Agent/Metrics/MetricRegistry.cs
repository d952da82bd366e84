using System.Globalization;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;

namespace TraceAgent.Metrics;

/// <summary>
/// Every metric stream of the process. Instruments with the same scope, name, kind and unit (two
/// Meter objects of one name, say) share one stream, as the specification's identity rules say.
/// Streams are added rarely (when an instrument is published), under a lock; the collector reads
/// an immutable snapshot.
/// </summary>
internal sealed class MetricRegistry
{
    /// <summary>Past this many metrics, new instruments are ignored (with one log line): memory stays bounded.</summary>
    public const int MaxStreams = 1000;

    private readonly object _gate = new();
    private readonly Dictionary<string, MetricStream> _byIdentity = new(StringComparer.OrdinalIgnoreCase);
    private readonly MetricsSettings _settings;
    private MetricStream[] _streams = [];
    private long _epoch;
    private bool _limitReported;

    public MetricRegistry(MetricsSettings settings)
    {
        _settings = settings;
    }

    /// <summary>The current collection's number; observable instruments mark what they report with it.</summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    public MetricStream[] Streams => Volatile.Read(ref _streams);

    public long NextEpoch() => Interlocked.Increment(ref _epoch);

    public MetricStream? GetOrAdd(string scopeName, string? scopeVersion, string name, string? unit, string? description, InstrumentKind kind, bool isInteger, double[]? adviceBounds)
    {
        var identity = string.Join('\n', scopeName, scopeVersion ?? string.Empty, name, kind.ToString(), unit ?? string.Empty);
        lock (_gate)
        {
            if (_byIdentity.TryGetValue(identity, out var existing))
            {
                return existing;
            }

            if (_streams.Length >= MaxStreams)
            {
                if (!_limitReported)
                {
                    _limitReported = true;
                    AgentLog.Warning(string.Create(CultureInfo.InvariantCulture, $"metrics: more than {MaxStreams} instruments; '{name}' of meter '{scopeName}' and later ones are not exported"));
                }

                return null;
            }

            var stream = new MetricStream(this, scopeName, scopeVersion, name, unit, description, kind, isInteger, adviceBounds, _settings.Temporality, _settings.ExemplarFilter, _settings.CardinalityLimit);
            _byIdentity[identity] = stream;

            // Kept grouped by scope, so the encoder writes one ScopeMetrics per meter.
            var streams = new List<MetricStream>(_streams) { stream };
            streams.Sort(static (a, b) => string.CompareOrdinal(a.ScopeName + "\n" + a.ScopeVersion, b.ScopeName + "\n" + b.ScopeVersion));
            Volatile.Write(ref _streams, streams.ToArray());
            return stream;
        }
    }

    /// <summary>Forgets streams whose instrument is gone once they have been exported a last time.</summary>
    public void RemoveCompleted()
    {
        lock (_gate)
        {
            if (!_streams.Any(s => s.Completed))
            {
                return;
            }

            foreach (var stream in _streams.Where(s => s.Completed))
            {
                _byIdentity.Remove(string.Join('\n', stream.ScopeName, stream.ScopeVersion ?? string.Empty, stream.Name, stream.Kind.ToString(), stream.Unit));
            }

            Volatile.Write(ref _streams, _streams.Where(s => !s.Completed).ToArray());
        }
    }
}
