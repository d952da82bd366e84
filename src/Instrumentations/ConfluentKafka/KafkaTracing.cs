using System.Diagnostics;
using System.Text;
using TraceAgent.Configuration;
using TraceAgent.Http;
using TraceAgent.Propagation;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>What the producer and consumer shims share: the source, settings, propagator and native calls.</summary>
internal sealed class KafkaTracing
{
    public const string SourceName = "TraceAgent.ConfluentKafka";

    public static readonly ActivitySource Source = new(SourceName);

    // The W3C header names (the propagator lists them in Fields when tracecontext and baggage are on).
    private const string TraceParentHeader = "traceparent";
    private const string TraceStateHeader = "tracestate";
    private const string BaggageHeader = "baggage";

    // Topic names seen by producers, most recent first by slot: Confluent hands produce a fresh UTF-8
    // copy of the name each call, so the name is matched by content, not by pointer. Apps produce to
    // a handful of topics; beyond this many, names are decoded per message (correct, only slower).
    private const int ProducedTopicSlots = 16;

#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static List<KeyValuePair<string, object?>>? t_tags;
#pragma warning restore IDE1006

    private readonly GlobPattern _excluded;
    private readonly Dictionary<string, byte[]> _fieldNames;
    private readonly KafkaTopic?[] _producedTopics = new KafkaTopic?[ProducedTopicSlots];
    private int _nextProducedTopicSlot;

    public KafkaTracing(NativeRdKafka native, KafkaClients clients, AgentPropagator propagator, KafkaSettings settings)
    {
        Native = native;
        Clients = clients;
        Propagator = propagator;
        LinkOnly = settings.ConsumerMode == KafkaConsumerMode.Link;
        _excluded = new GlobPattern(settings.ExcludedTopics);
        _fieldNames = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string field in propagator.Fields)
        {
            _fieldNames[field] = NulTerminated(field);
        }

        FieldNames = new byte[_fieldNames.Count][];
        FieldNameStrings = new string[_fieldNames.Count];
        int index = 0;
        bool traceParent = false, other = false;
        foreach (var (field, bytes) in _fieldNames)
        {
            FieldNames[index] = bytes;
            FieldNameStrings[index++] = field;
            traceParent |= field == TraceParentHeader;
            other |= field != TraceParentHeader && field != TraceStateHeader && field != BaggageHeader;
        }

        TraceParentIndex = Array.IndexOf(FieldNameStrings, TraceParentHeader);
        OnlyTraceContext = traceParent && !other;
        HasBaggageField = _fieldNames.ContainsKey(BaggageHeader);
    }

    public NativeRdKafka Native { get; }

    public KafkaClients Clients { get; }

    public AgentPropagator Propagator { get; }

    public bool LinkOnly { get; }

    /// <summary>The propagators' header names, UTF-8 and NUL-terminated.</summary>
    public byte[][] FieldNames { get; }

    /// <summary>The same names as strings, index for index.</summary>
    public string[] FieldNameStrings { get; }

    /// <summary>Where traceparent is in <see cref="FieldNames"/>, or -1.</summary>
    public int TraceParentIndex { get; }

    /// <summary>
    /// The propagators are W3C trace context, with or without baggage (the default). Then a context
    /// with no trace state and no baggage comes down to the one traceparent header, which the
    /// producer writes straight from the span's ids without going through strings.
    /// </summary>
    public bool OnlyTraceContext { get; }

    public bool HasBaggageField { get; }

    public unsafe bool IsFieldName(byte* name)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name);
        foreach (byte[] field in FieldNames)
        {
            if (bytes.SequenceEqual(field.AsSpan(0, field.Length - 1)))
            {
                return true;
            }
        }

        return false;
    }

    public bool IsExcluded(string topic) => !_excluded.IsEmpty && _excluded.Matches(topic);

    /// <summary>What the producer needs of the topic whose NUL-terminated UTF-8 name is at <paramref name="name"/>.</summary>
    public unsafe KafkaTopic ProducedTopic(byte* name)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name);
        var slots = _producedTopics;
        for (int i = 0; i < slots.Length; i++)
        {
            var known = slots[i];
            if (known is null)
            {
                break;
            }

            if (known.Utf8.AsSpan().SequenceEqual(bytes))
            {
                return known;
            }
        }

        // Slots are filled in order and overwritten round-robin once full; a racing writer can only
        // replace one complete entry with another.
        var topic = new KafkaTopic(Encoding.UTF8.GetString(bytes), bytes.ToArray(), this);
        int slot = (int)((uint)Interlocked.Increment(ref _nextProducedTopicSlot) - 1) % slots.Length;
        slots[slot] = topic;
        return topic;
    }

    public byte[] HeaderName(string name) => _fieldNames.TryGetValue(name, out var bytes) ? bytes : NulTerminated(name);

    /// <summary>
    /// An empty list for the tags of a span about to start, handed to StartActivity, which copies
    /// them: tags given at creation skip the per-tag lock of Activity.AddTag (and samplers see them).
    /// Taken out of its thread slot while in use, so a nested produce on the same thread (from a
    /// listener) gets a list of its own.
    /// </summary>
    public static List<KeyValuePair<string, object?>> RentTags()
    {
        var tags = t_tags ?? new List<KeyValuePair<string, object?>>(12);
        t_tags = null;
        return tags;
    }

    public static void ReturnTags(List<KeyValuePair<string, object?>> tags)
    {
        tags.Clear();
        t_tags = tags;
    }

    /// <summary>
    /// Stops <paramref name="activity"/> and leaves Activity.Current as <paramref name="current"/>:
    /// Activity.Stop resets Current to what was current when the activity started, which on a
    /// librdkafka callback thread or another consumer's thread would be someone else's context.
    /// </summary>
    public static void Stop(Activity activity, Activity? current)
    {
        activity.Stop();
        CurrentActivity.Restore(current);
    }

    private static byte[] NulTerminated(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}

/// <summary>A topic name with what the spans need of it, worked out once: span names and the exclusion check.</summary>
internal sealed class KafkaTopic
{
    public KafkaTopic(string name, byte[]? utf8, KafkaTracing tracing)
    {
        Name = name;
        Utf8 = utf8 ?? [];
        SendSpanName = "send " + name;
        ProcessSpanName = "process " + name;
        Excluded = tracing.IsExcluded(name);
    }

    public string Name { get; }

    public byte[] Utf8 { get; }

    public string SendSpanName { get; }

    public string ProcessSpanName { get; }

    public bool Excluded { get; }
}
