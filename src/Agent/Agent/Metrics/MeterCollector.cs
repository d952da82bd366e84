using System.Diagnostics.Metrics;
using System.Reflection;
using TraceAgent.Diagnostics;
using TraceAgent.Tracing;

namespace TraceAgent.Metrics;

/// <summary>
/// The one MeterListener: enables the instruments of the meters that are switched on (and the
/// app's own, OTEL_DOTNET_AUTO_METRICS_ADDITIONAL_SOURCES) and hands each measurement to its
/// stream on the thread that makes it. Nothing on that path allocates or locks, and nothing
/// throws into the app.
/// </summary>
internal sealed class MeterCollector : IDisposable
{
    private readonly MeterListener _listener;
    private readonly MetricRegistry _registry;
    private readonly SourceMatcher _meters;
    private volatile bool _disposing;

    public MeterCollector(MetricRegistry registry, SourceMatcher meters)
    {
        _registry = registry;
        _meters = meters;

        // On .NET 9 and later, making a MeterListener is what creates the runtime's System.Runtime meter.
        _listener = new MeterListener
        {
            InstrumentPublished = OnPublished,
            MeasurementsCompleted = OnCompleted,
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => RecordLong(state, value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => RecordLong(state, value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => RecordDouble(state, value, tags));
    }

    public void Start() => _listener.Start();

    /// <summary>Runs the observable instruments' callbacks; their measurements land in their streams.</summary>
    public void RecordObservables()
    {
        try
        {
            _listener.RecordObservableInstruments();
        }
        catch (Exception ex)
        {
            // An app's observable callback that throws loses its own measurements, nothing else.
            AgentFaults.Report("an observable instrument's callback", ex);
        }
    }

    private static void RecordLong(object? state, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        try
        {
            ((MetricStream)state!).Record(value, tags);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("metric measurement", ex);
        }
    }

    private static void RecordDouble(object? state, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        try
        {
            ((MetricStream)state!).Record(value, tags);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("metric measurement", ex);
        }
    }

    private void OnPublished(Instrument instrument, MeterListener listener)
    {
        try
        {
            if (ReferenceEquals(instrument.Meter.Scope, AgentMeterFactory.Instance) || !_meters.Matches(instrument.Meter.Name) || !TryDescribe(instrument, out var kind, out var valueType))
            {
                return;
            }

            ListenToRareValueType(valueType);
            var isInteger = valueType == typeof(long) || valueType == typeof(int) || valueType == typeof(short) || valueType == typeof(byte);
            var stream = _registry.GetOrAdd(instrument.Meter.Name, instrument.Meter.Version, instrument.Name, instrument.Unit, instrument.Description, kind, isInteger, kind == InstrumentKind.Histogram ? AdvisedBounds(instrument) : null);
            if (stream is not null)
            {
                stream.Attach();
                listener.EnableMeasurementEvents(instrument, stream);
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("metric instrument publication", ex);
        }
    }

    /// <summary>
    /// The callbacks for the value types few instruments use are set when the first such instrument
    /// is published, before its measurements are enabled: each is a generic instantiation the
    /// runtime compiles in every process that sets it.
    /// </summary>
    private void ListenToRareValueType(Type valueType)
    {
        if (valueType == typeof(short))
        {
            _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => RecordLong(state, value, tags));
        }
        else if (valueType == typeof(byte))
        {
            _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => RecordLong(state, value, tags));
        }
        else if (valueType == typeof(float))
        {
            _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => RecordDouble(state, value, tags));
        }
        else if (valueType == typeof(decimal))
        {
            _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => RecordDouble(state, (double)value, tags));
        }
    }

    private void OnCompleted(Instrument instrument, object? state)
    {
        if (!_disposing && state is MetricStream stream)
        {
            stream.Detach();
        }
    }

    private static bool TryDescribe(Instrument instrument, out InstrumentKind kind, out Type valueType)
    {
        kind = default;
        valueType = typeof(void);
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return false;
        }

        valueType = type.GetGenericArguments()[0];
        var definition = type.GetGenericTypeDefinition();
        if (definition == typeof(Counter<>))
        {
            kind = InstrumentKind.Counter;
        }
        else if (definition == typeof(UpDownCounter<>))
        {
            kind = InstrumentKind.UpDownCounter;
        }
        else if (definition == typeof(Histogram<>))
        {
            kind = InstrumentKind.Histogram;
        }
        else if (definition == typeof(ObservableCounter<>))
        {
            kind = InstrumentKind.ObservableCounter;
        }
        else if (definition == typeof(ObservableUpDownCounter<>))
        {
            kind = InstrumentKind.ObservableUpDownCounter;
        }
        else if (definition == typeof(ObservableGauge<>))
        {
            kind = InstrumentKind.ObservableGauge;
        }
        else if (definition.Namespace == "System.Diagnostics.Metrics" && definition.Name == "Gauge`1")
        {
            // The synchronous Gauge<T> came with .NET 9; the agent is built against .NET 8.
            kind = InstrumentKind.Gauge;
        }
        else
        {
            return false;
        }

        return true;
    }

    /// <summary>
    /// The instrument's advised bucket boundaries (InstrumentAdvice, .NET 9 and later), read by
    /// reflection once per instrument because the agent is built against .NET 8, which has no advice.
    /// </summary>
    private static double[]? AdvisedBounds(Instrument instrument)
    {
        var advice = instrument.GetType().GetProperty("Advice", BindingFlags.Public | BindingFlags.Instance)?.GetValue(instrument);
        if (advice?.GetType().GetProperty("HistogramBucketBoundaries", BindingFlags.Public | BindingFlags.Instance)?.GetValue(advice) is not System.Collections.IEnumerable values)
        {
            return null;
        }

        // The framework's instruments advise an IReadOnlyList<double>: read by index, as an
        // enumerator (and a List<double> here) would be generic code compiled for this alone.
        if (values is IReadOnlyList<double> advised)
        {
            var copy = new double[advised.Count];
            for (var i = 0; i < copy.Length; i++)
            {
                copy[i] = advised[i];
            }

            return StrictlyIncreasing(copy, copy.Length) ? copy : null;
        }

        var bounds = new double[16];
        var count = 0;
        foreach (var value in values)
        {
            if (count == bounds.Length)
            {
                var larger = new double[count * 2];
                Array.Copy(bounds, larger, count);
                bounds = larger;
            }

            bounds[count++] = Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (!StrictlyIncreasing(bounds, count))
        {
            return null;
        }

        var exact = new double[count];
        Array.Copy(bounds, exact, count);
        return exact;
    }

    /// <summary>The API guarantees strictly increasing values; an empty or bad list falls back to the defaults.</summary>
    private static bool StrictlyIncreasing(double[] bounds, int count)
    {
        if (count == 0)
        {
            return false;
        }

        for (var i = 1; i < count; i++)
        {
            if (!(bounds[i] > bounds[i - 1]))
            {
                return false;
            }
        }

        return true;
    }

    public void Dispose()
    {
        _disposing = true;
        _listener.Dispose();
    }
}
