using System.Collections.ObjectModel;
using System.Diagnostics;

namespace TraceAgent.Propagation;

// The process-wide propagator (DistributedContextPropagator.Current). The runtime's HttpClient
// (DiagnosticsHandler) injects through it; its setter adds a header only when the request does not
// already have one, so each header is written once here. ASP.NET Core's hosting extracts through it
// (ActivityCreator.CreateFromRemote): ExtractTraceIdAndState, then
// ActivityContext.TryParse(traceId, traceState, isRemote: true); ExtractBaggage, then
// Activity.AddBaggage for each item. That is why every trace format hands back a version-00
// traceparent string, the one format ActivityContext.TryParse accepts.
//
// The runtime and the app call these methods on their own threads and do not expect exceptions, so
// every entry point catches: bad input or a throwing carrier callback means "no context", never a
// failed request.
//
// Public because instrumentations outside this assembly get it (InstrumentationContext.Propagator)
// for carriers the runtime does not cover, through TryExtract and Inject.
public sealed class AgentPropagator : DistributedContextPropagator
{
    private static readonly IReadOnlyList<KeyValuePair<string, string?>> NoBaggage = [];

    private readonly PropagationFormat[] _traceFormats;
    private readonly bool _baggage;
    private readonly ReadOnlyCollection<string> _fields;

    private AgentPropagator(PropagationFormat[] traceFormats, bool baggage, string[] names, string[] fields)
    {
        _traceFormats = traceFormats;
        _baggage = baggage;
        Names = Array.AsReadOnly(names);
        _fields = Array.AsReadOnly(fields);
    }

    // The formats in effect, in order, by their OTEL_PROPAGATORS names (for the start-up summary).
    internal IReadOnlyList<string> Names { get; }

    public override IReadOnlyCollection<string> Fields => _fields;

    /// <summary>
    /// The W3C trace flags to send for a span (sampled, and Level 2's random-trace-id), for
    /// instrumentations that write traceparent themselves.
    /// </summary>
    public static byte TraceFlagsOf(Activity activity) => TraceParent.FlagsOf(activity);

    // Unknown names are ignored (the configuration layer reports them) and repeated names count
    // once. "none" turns propagation off even when listed with others, as OpenTelemetry's other
    // SDKs refuse to combine it: an explicit "none" is taken as the stronger intent.
    internal static AgentPropagator Create(IReadOnlyList<string> names)
    {
        // Arrays, not List<PropagationFormat>: a list of an enum runs List<int>'s code, which the
        // framework has no precompiled copy of; it would be JIT-compiled at every start.
        var formats = new PropagationFormat[names.Count];
        var count = 0;
        foreach (string name in names)
        {
            if (PropagationFormatNames.IsNone(name))
            {
                return new AgentPropagator([], false, [], []);
            }

            if (PropagationFormatNames.TryParse(name, out PropagationFormat format) && !Contains(formats, count, format))
            {
                formats[count++] = format;
            }
        }

        var traceFormats = new PropagationFormat[count];
        var traceCount = 0;
        var effectiveNames = new List<string>(count);
        var fields = new List<string>();
        bool baggage = false;
        for (var i = 0; i < count; i++)
        {
            var format = formats[i];
            effectiveNames.Add(PropagationFormatNames.ToName(format));
            switch (format)
            {
                case PropagationFormat.TraceContext:
                    traceFormats[traceCount++] = format;
                    fields.Add(PropagationHeaders.TraceParent);
                    fields.Add(PropagationHeaders.TraceState);
                    break;
                case PropagationFormat.Baggage:
                    baggage = true;
                    fields.Add(PropagationHeaders.Baggage);
                    break;
                default:
                    // Both B3 variants read either encoding, so both list all B3 headers.
                    traceFormats[traceCount++] = format;
                    AddOnce(fields, PropagationHeaders.B3Single);
                    AddOnce(fields, PropagationHeaders.B3TraceId);
                    AddOnce(fields, PropagationHeaders.B3SpanId);
                    AddOnce(fields, PropagationHeaders.B3ParentSpanId);
                    AddOnce(fields, PropagationHeaders.B3Sampled);
                    AddOnce(fields, PropagationHeaders.B3Flags);
                    break;
            }
        }

        var used = new PropagationFormat[traceCount];
        Array.Copy(traceFormats, used, traceCount);
        return new AgentPropagator(used, baggage, effectiveNames.ToArray(), fields.ToArray());
    }

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        if (activity is null || setter is null)
        {
            return;
        }

        try
        {
            var writer = new PropagatorSetterWriter(carrier, setter);

            // A hierarchical-id Activity has no W3C trace id to send in any of our formats.
            if (_traceFormats.Length > 0 && activity.IdFormat == ActivityIdFormat.W3C)
            {
                InjectTrace(writer, activity.TraceId, activity.SpanId, TraceParent.FlagsOf(activity), activity.TraceStateString, activity);
            }

            if (_baggage)
            {
                InjectBaggage(writer, activity.Baggage);
            }
        }
        catch (Exception)
        {
            // Propagation is best effort; see the class comment.
        }
    }

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        traceId = null;
        traceState = null;
        if (getter is null)
        {
            return;
        }

        try
        {
            ExtractTrace(new PropagatorGetterReader(carrier, getter), out traceId, out traceState);
        }
        catch (Exception)
        {
            traceId = null;
            traceState = null;
        }
    }

    // The contract with ASP.NET Core (see LegacyPropagator and ActivityCreator) is that the items come
    // back in reverse header order: Activity.AddBaggage prepends, so adding them in this order leaves
    // the Activity's baggage in header order.
    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter)
    {
        if (!_baggage || getter is null)
        {
            return null;
        }

        try
        {
            List<KeyValuePair<string, string?>>? baggage = BaggagePropagation.Extract(new PropagatorGetterReader(carrier, getter));
            baggage?.Reverse();
            return baggage;
        }
        catch (Exception)
        {
            return null;
        }
    }

    // For messaging clients, whose headers are not reached through DistributedContextPropagator. The
    // getter returns every value of a header, or null when it is absent. Baggage comes back in header
    // order (unlike ExtractBaggage).
    public bool TryExtract<TCarrier>(
        TCarrier carrier,
        Func<TCarrier, string, IEnumerable<string>?> getter,
        out ActivityContext context,
        out IReadOnlyList<KeyValuePair<string, string?>> baggage)
    {
        context = default;
        baggage = NoBaggage;
        if (getter is null)
        {
            return false;
        }

        var reader = new DelegateHeaderReader<TCarrier>(carrier, getter);
        bool found = false;
        try
        {
            ExtractTrace(reader, out string? traceParent, out string? traceState);
            found = ActivityContext.TryParse(traceParent, traceState, isRemote: true, out context);
        }
        catch (Exception)
        {
            context = default;
        }

        if (_baggage)
        {
            try
            {
                baggage = (IReadOnlyList<KeyValuePair<string, string?>>?)BaggagePropagation.Extract(reader) ?? NoBaggage;
            }
            catch (Exception)
            {
                baggage = NoBaggage;
            }
        }

        return found;
    }

    // For messaging clients. Nothing of the trace formats is written for a default context.
    public void Inject<TCarrier>(
        ActivityContext context,
        IEnumerable<KeyValuePair<string, string?>> baggage,
        TCarrier carrier,
        Action<TCarrier, string, string> setter)
    {
        if (setter is null)
        {
            return;
        }

        try
        {
            var writer = new DelegateHeaderWriter<TCarrier>(carrier, setter);
            if (_traceFormats.Length > 0 && context.TraceId != default && context.SpanId != default)
            {
                InjectTrace(writer, context.TraceId, context.SpanId, (byte)((byte)context.TraceFlags & TraceParent.KnownFlags), context.TraceState, activity: null);
            }

            if (_baggage && baggage is not null)
            {
                InjectBaggage(writer, baggage);
            }
        }
        catch (Exception)
        {
            // Propagation is best effort; see the class comment.
        }
    }

    // The first format, in configured order, that finds a valid context wins. Only tracecontext has
    // a tracestate; it is returned only with its own traceparent.
    private void ExtractTrace<TReader>(TReader reader, out string? traceParent, out string? traceState)
        where TReader : struct, IHeaderReader
    {
        traceState = null;
        bool b3Tried = false;
        foreach (PropagationFormat format in _traceFormats)
        {
            if (format == PropagationFormat.TraceContext)
            {
                if (TraceContextPropagation.TryExtract(reader, out traceParent, out traceState))
                {
                    return;
                }
            }
            else if (!b3Tried)
            {
                // b3 and b3multi extract the same way, so one attempt covers both.
                b3Tried = true;
                if (B3Propagation.TryExtract(reader, out traceParent))
                {
                    return;
                }
            }
        }

        traceParent = null;
        traceState = null;
    }

    private void InjectTrace<TWriter>(TWriter writer, ActivityTraceId traceId, ActivitySpanId spanId, byte flags, string? traceState, Activity? activity)
        where TWriter : struct, IHeaderWriter
    {
        bool sampled = (flags & 1) != 0;
        foreach (PropagationFormat format in _traceFormats)
        {
            switch (format)
            {
                case PropagationFormat.TraceContext:
                    string traceParent = activity is not null
                        ? TraceParent.FromActivity(activity)
                        : TraceParent.Format(traceId, spanId, flags);
                    TraceContextPropagation.Inject(writer, traceParent, traceState);
                    break;
                case PropagationFormat.B3Single:
                    B3Propagation.InjectSingle(writer, traceId, spanId, sampled);
                    break;
                case PropagationFormat.B3Multi:
                    B3Propagation.InjectMulti(writer, traceId, spanId, sampled);
                    break;
            }
        }
    }

    private static void InjectBaggage<TWriter>(TWriter writer, IEnumerable<KeyValuePair<string, string?>> baggage)
        where TWriter : struct, IHeaderWriter
    {
        string? header = BaggagePropagation.Format(baggage);
        if (header is not null)
        {
            writer.Write(PropagationHeaders.Baggage, header);
        }
    }

    private static bool Contains(PropagationFormat[] formats, int count, PropagationFormat format)
    {
        for (var i = 0; i < count; i++)
        {
            if (formats[i] == format)
            {
                return true;
            }
        }

        return false;
    }

    private static void AddOnce(List<string> fields, string field)
    {
        if (!fields.Contains(field))
        {
            fields.Add(field);
        }
    }
}
