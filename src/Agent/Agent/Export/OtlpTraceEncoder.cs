using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using TraceAgent.Configuration;
using TraceAgent.Propagation;
using TraceAgent.Tracing;

namespace TraceAgent.Export;

/// <summary>
/// Encodes spans as an OTLP ExportTraceServiceRequest (opentelemetry-proto, trace/v1). Field numbers
/// are those of the OTLP specification.
/// </summary>
internal sealed class OtlpTraceEncoder
{
    private readonly byte[] _resource;
    private readonly SpanLimits _limits;
    private readonly Dictionary<ActivitySource, List<Activity>> _byScope = new();
    private readonly Dictionary<ActivitySource, List<EncodedSpan>> _encodedByScope = new();
    private readonly AttributeKeys _keys = new();
    private readonly Action<ProtoWriter, Activity> _writeActivity;

    // Spans encoded as they end are encoded on the app's threads: a writer and key table per thread.
#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static ProtoWriter? t_writer;
    [ThreadStatic]
    private static AttributeKeys? t_keys;
#pragma warning restore IDE1006

    public OtlpTraceEncoder(IReadOnlyList<KeyValuePair<string, object>> resource, SpanLimits limits)
    {
        _limits = limits;
        _resource = OtlpCommon.EncodeResource(resource);
        _writeActivity = (writer, activity) => WriteSpan(writer, activity, _keys);
    }

    /// <summary>A request of the spans themselves (export thread).</summary>
    public void Encode(ProtoWriter writer, IReadOnlyList<Activity> batch) =>
        Encode(writer, batch, _byScope, static a => a.Source, _writeActivity);

    /// <summary>A request of spans encoded as they ended (export thread).</summary>
    public void Encode(ProtoWriter writer, IReadOnlyList<EncodedSpan> batch) =>
        Encode(writer, batch, _encodedByScope, static s => s.Source!, static (w, s) => w.WriteRaw(s.Written));

    /// <summary>One span, as it ends, on the thread that ends it: the bytes its request will carry.</summary>
    public void Encode(Activity activity, EncodedSpan into, SpanAttributeWriter? attributes = null)
    {
        // Straight into the holder's array: no copy of the span's bytes.
        var writer = t_writer ??= new ProtoWriter(0);
        writer.Attach(into.Bytes);
        try
        {
            WriteSpan(writer, activity, t_keys ??= new AttributeKeys(), attributes);
        }
        finally
        {
            into.SetWritten(writer.Detach(out var length), length);
        }

        into.Source = activity.Source;
    }

    /// <summary>A span written with no Activity (DirectSpans), as it ends, on the thread that ends it.</summary>
    public void Encode(in DirectSpan direct, ulong spanId, EncodedSpan into)
    {
        var writer = t_writer ??= new ProtoWriter(0);
        writer.Attach(into.Bytes);
        try
        {
            WriteSpan(writer, direct, spanId, t_keys ??= new AttributeKeys());
        }
        finally
        {
            into.SetWritten(writer.Detach(out var length), length);
        }

        into.Source = direct.Source;
    }

    private void Encode<T>(ProtoWriter writer, IReadOnlyList<T> batch, Dictionary<ActivitySource, List<T>> byScope, Func<T, ActivitySource> sourceOf, Action<ProtoWriter, T> writeSpan)
    {
        foreach (var list in byScope.Values)
        {
            list.Clear();
        }

        // Spans of one source come in runs: the dictionary is asked only when the source changes.
        ActivitySource? lastSource = null;
        List<T>? lastList = null;
        for (var i = 0; i < batch.Count; i++)
        {
            var item = batch[i];
            var source = sourceOf(item);
            if (!ReferenceEquals(source, lastSource))
            {
                lastList = ListFor(byScope, source);
                lastSource = source;
            }

            lastList!.Add(item);
        }

        // ExportTraceServiceRequest.resource_spans = 1
        var resourceSpans = writer.BeginMessage(1);
        var resource = writer.BeginMessage(1); // ResourceSpans.resource = 1
        writer.WriteRaw(_resource);
        writer.EndMessage(resource);
        foreach (var (source, spans) in byScope)
        {
            if (spans.Count == 0)
            {
                continue;
            }

            var scopeSpans = BeginScope(writer, source);
            foreach (var span in spans)
            {
                writeSpan(writer, span);
            }

            writer.EndMessage(scopeSpans);
        }

        writer.EndMessage(resourceSpans);

        // Drop sources that disappeared so the dictionary does not grow without bound.
        if (byScope.Count > 256)
        {
            byScope.Clear();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int BeginScope(ProtoWriter writer, ActivitySource source)
    {
        var scopeSpans = writer.BeginMessage(2); // ResourceSpans.scope_spans = 2
        var scope = writer.BeginMessage(1); // ScopeSpans.scope = 1
        writer.WriteStringField(1, source.Name);
        if (!string.IsNullOrEmpty(source.Version))
        {
            writer.WriteStringField(2, source.Version);
        }

        writer.EndMessage(scope);
        return scopeSpans;
    }

    // Out of line: a batch asks once per run of spans from one source, and the dictionary's
    // insertion inlined would double the size of Encode each time the JIT compiles it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<T> ListFor<T>(Dictionary<ActivitySource, List<T>> byScope, ActivitySource source)
    {
        if (!byScope.TryGetValue(source, out var list))
        {
            list = [];
            byScope[source] = list;
        }

        return list;
    }

    private void WriteSpan(ProtoWriter writer, Activity activity, AttributeKeys keys, SpanAttributeWriter? attributes = null)
    {
        Span<byte> id = stackalloc byte[16];
        keys.BeginSpan(_limits.AttributeValueLengthLimit);
        var span = writer.BeginMessage(2); // ScopeSpans.spans = 2
        LowerHex.DecodeId(activity.SpanId.ToHexString(), id[..8]);
        WriteHead(writer, activity.TraceId, id[..8], activity.TraceStateString, activity.ParentSpanId, activity.DisplayName, activity.Kind, activity.StartTimeUtc, activity.Duration);
        var written = new TagCount(_limits.AttributeCountLimit);
        WriteTags(writer, 9, activity.EnumerateTagObjects(), ref written, keys);
        if (attributes is not null)
        {
            var more = new SpanAttributes(writer, keys, activity, ref written);
            attributes(activity, ref more);
        }

        written.WriteDropped(writer, 10);

        WriteEvents(writer, activity, keys);
        WriteLinks(writer, activity, id, keys);
        WriteStatus(writer, activity.Status, activity.StatusDescription);

        writer.WriteFixed32Field(16, SpanFlags((ActivityTraceFlags)RandomTraceFlag.W3CFlags(activity), activity.HasRemoteParent));
        writer.EndMessage(span);
    }

    // Events and links are on few spans (an exception, a consumed message): out of line, so that
    // WriteSpan stays small when the JIT compiles it again as it gets hot.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteEvents(ProtoWriter writer, Activity activity, AttributeKeys keys)
    {
        var events = 0;
        var droppedEvents = 0;
        foreach (ref readonly var e in activity.EnumerateEvents())
        {
            if (events >= _limits.EventCountLimit)
            {
                droppedEvents++;
                continue;
            }

            var message = writer.BeginMessage(11);
            writer.WriteFixed64Field(1, ToUnixNanos(e.Timestamp.UtcDateTime));
            writer.WriteStringField(2, e.Name);
            WriteLimitedTags(writer, 3, 4, e.EnumerateTagObjects(), _limits.EventAttributeCountLimit, keys);
            writer.EndMessage(message);
            events++;
        }

        if (droppedEvents > 0)
        {
            writer.WriteVarintField(12, (ulong)droppedEvents);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteLinks(ProtoWriter writer, Activity activity, Span<byte> id, AttributeKeys keys)
    {
        var links = 0;
        var droppedLinks = 0;
        foreach (ref readonly var link in activity.EnumerateLinks())
        {
            if (links >= _limits.LinkCountLimit)
            {
                droppedLinks++;
                continue;
            }

            var message = writer.BeginMessage(13);
            LowerHex.DecodeId(link.Context.TraceId.ToHexString(), id);
            writer.WriteBytesField(1, id);
            LowerHex.DecodeId(link.Context.SpanId.ToHexString(), id[..8]);
            writer.WriteBytesField(2, id[..8]);
            if (!string.IsNullOrEmpty(link.Context.TraceState))
            {
                writer.WriteStringField(3, link.Context.TraceState);
            }

            WriteLimitedTags(writer, 4, 5, link.EnumerateTagObjects(), _limits.LinkAttributeCountLimit, keys);
            writer.WriteFixed32Field(6, SpanFlags(link.Context.TraceFlags, link.Context.IsRemote));
            writer.EndMessage(message);
            links++;
        }

        if (droppedLinks > 0)
        {
            writer.WriteVarintField(14, (ulong)droppedLinks);
        }
    }

    // Span fields 1 to 8: trace id, span id, tracestate, parent span id (none for a root), name,
    // kind (the OTLP enum is ActivityKind plus one), start and end. The ids are decoded straight
    // into the buffer, behind their one-byte tags and lengths.
    private static void WriteHead(ProtoWriter writer, ActivityTraceId traceId, ReadOnlySpan<byte> spanId, string? traceState, ActivitySpanId parentSpanId, string name, ActivityKind kind, DateTime startUtc, TimeSpan duration)
    {
        var ids = writer.GetSpan(28);
        ids[0] = (1 << 3) | 2; // trace_id = 1, length-delimited
        ids[1] = 16;
        LowerHex.DecodeId(traceId.ToHexString(), ids.Slice(2, 16));
        ids[18] = (2 << 3) | 2; // span_id = 2
        ids[19] = 8;
        spanId.CopyTo(ids.Slice(20, 8));
        writer.Advance(28);
        if (!string.IsNullOrEmpty(traceState))
        {
            writer.WriteStringField(3, traceState);
        }

        if (parentSpanId != default)
        {
            var parent = writer.GetSpan(10);
            parent[0] = (4 << 3) | 2; // parent_span_id = 4
            parent[1] = 8;
            LowerHex.DecodeId(parentSpanId.ToHexString(), parent.Slice(2, 8));
            writer.Advance(10);
        }

        writer.WriteStringField(5, name);
        var start = ToUnixNanos(startUtc);
        var tail = writer.GetSpan(20);
        tail[0] = 6 << 3; // kind = 6, varint (the enum's values are below 128)
        tail[1] = (byte)((int)kind + 1);
        tail[2] = (7 << 3) | 1; // start_time_unix_nano = 7, fixed64
        BinaryPrimitives.WriteUInt64LittleEndian(tail.Slice(3, 8), start);
        tail[11] = (8 << 3) | 1; // end_time_unix_nano = 8
        BinaryPrimitives.WriteUInt64LittleEndian(tail.Slice(12, 8), start + ((ulong)duration.Ticks * 100));
        writer.Advance(20);
    }

    /// <summary>The fields <see cref="WriteSpan(ProtoWriter, Activity, AttributeKeys)"/> writes for the Activity the span would have been.</summary>
    private void WriteSpan(ProtoWriter writer, in DirectSpan direct, ulong spanId, AttributeKeys keys)
    {
        Span<byte> id = stackalloc byte[8];
        var parent = direct.Parent;
        keys.BeginSpan(_limits.AttributeValueLengthLimit);
        var span = writer.BeginMessage(2); // ScopeSpans.spans = 2
        BinaryPrimitives.WriteUInt64LittleEndian(id, spanId); // as TracingPipeline made the Activity-less span's id
        WriteHead(writer, parent.TraceId, id, parent.TraceState, parent.SpanId, direct.Name, direct.Kind, direct.StartUtc, direct.Duration);
        var written = new TagCount(_limits.AttributeCountLimit);
        foreach (var tag in direct.Tags)
        {
            WriteTag(writer, 9, tag, ref written, keys);
        }

        written.WriteDropped(writer, 10);

        WriteStatus(writer, direct.Status, direct.StatusDescription);

        // Sampled, with the parent's random-trace-id flag, as RandomTraceFlag works it out for a
        // child of this parent.
        var flags = ActivityTraceFlags.Recorded | (parent.TraceFlags & RandomTraceFlag.Random);
        writer.WriteFixed32Field(16, SpanFlags(flags, parent.IsRemote));
        writer.EndMessage(span);
    }

    private static void WriteStatus(ProtoWriter writer, ActivityStatusCode code, string? description)
    {
        if (code == ActivityStatusCode.Unset)
        {
            return;
        }

        var status = writer.BeginMessage(15);
        if (code == ActivityStatusCode.Error && !string.IsNullOrEmpty(description))
        {
            writer.WriteStringField(2, description);
        }

        writer.WriteVarintField(3, code == ActivityStatusCode.Ok ? 1UL : 2UL);
        writer.EndMessage(status);
    }

    private static void WriteLimitedTags(ProtoWriter writer, int field, int droppedField, Activity.Enumerator<KeyValuePair<string, object?>> tags, int limit, AttributeKeys keys)
    {
        var written = new TagCount(limit);
        WriteTags(writer, field, tags, ref written, keys);
        written.WriteDropped(writer, droppedField);
    }

    private static void WriteTags(ProtoWriter writer, int field, Activity.Enumerator<KeyValuePair<string, object?>> tags, ref TagCount written, AttributeKeys keys)
    {
        foreach (var tag in tags)
        {
            WriteTag(writer, field, tag, ref written, keys);
        }
    }

    /// <summary>One attribute, unless its value is null; counted as dropped when the limit is reached or it cannot be written (a null key, a value without text).</summary>
    private static void WriteTag(ProtoWriter writer, int field, in KeyValuePair<string, object?> tag, ref TagCount written, AttributeKeys keys)
    {
        if (tag.Value is null)
        {
            return;
        }

        // Activity.AddTag takes a null key; OTLP has no attribute without one.
        if (written.Count >= written.Limit || tag.Key is null)
        {
            written.Dropped++;
            return;
        }

        if (keys.WriteAttribute(writer, field, tag.Key, tag.Value))
        {
            written.Count++;
        }
        else
        {
            written.Dropped++;
        }
    }

    internal struct TagCount(int limit)
    {
        public readonly int Limit = limit;
        public int Count;
        public int Dropped;

        public readonly void WriteDropped(ProtoWriter writer, int field)
        {
            if (Dropped > 0)
            {
                writer.WriteVarintField(field, (ulong)Dropped);
            }
        }
    }

    // Span.flags: the W3C trace flags in bits 0-7, then HAS_IS_REMOTE (0x100) and IS_REMOTE (0x200).
    private static uint SpanFlags(ActivityTraceFlags flags, bool isRemote) => (uint)flags | 0x100u | (isRemote ? 0x200u : 0u);

    internal static ulong ToUnixNanos(DateTime utc) => (ulong)(utc.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}

internal static class OtlpCommon
{
    /// <summary>The body of a Resource message (its attributes), encoded once and copied into every request.</summary>
    public static byte[] EncodeResource(IReadOnlyList<KeyValuePair<string, object>> resource)
    {
        var writer = new ProtoWriter(1024);
        foreach (var attribute in resource)
        {
            WriteKeyValue(writer, 1, attribute.Key, attribute.Value, null);
        }

        return writer.WrittenSpan.ToArray();
    }

    /// <summary>One KeyValue; false, with nothing written, when the value has no text (see <see cref="AttributeText"/>).</summary>
    public static bool WriteKeyValue(ProtoWriter writer, int field, string key, object value, int? lengthLimit, AttributeKeys? keys = null)
    {
        // Most attributes are a short key and a short value: one-byte lengths. A long text (a query,
        // a URL) would make both move, so its KeyValue keeps the four-byte form.
        var expectShort = value is not (string { Length: >= 40 } or Array);
        var start = writer.Length;
        var keyValue = writer.BeginMessage(field, expectShort);
        WriteKey(writer, key, keys);
        var any = writer.BeginMessage(2, expectShort);
        if (!WriteAnyValueBody(writer, value, lengthLimit))
        {
            writer.Rewind(start);
            return false;
        }

        writer.EndMessage(any, expectShort);
        writer.EndMessage(keyValue, expectShort);
        return true;
    }

    private static void WriteKey(ProtoWriter writer, string key, AttributeKeys? keys)
    {
        if (keys is null)
        {
            writer.WriteStringField(1, key);
        }
        else
        {
            keys.Write(writer, key);
        }
    }

    // AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4, array_value 5, bytes_value 7.
    // False when a value of another type (or an array element) has no text: the caller drops it.
    // An array inside an array (an element) is written as its text, as the other exporters write
    // it: attribute values are primitives or arrays of them, and an array that holds itself would
    // otherwise recurse until the process's stack ran out.
    public static bool WriteAnyValueBody(ProtoWriter writer, object value, int? lengthLimit, bool inArray = false)
    {
        switch (value)
        {
            case string s:
                writer.WriteStringField(1, Truncate(s, lengthLimit));
                break;
            case bool b:
                writer.WriteBoolField(2, b);
                break;
            case int i:
                writer.WriteInt64Field(3, i);
                break;
            case long l:
                writer.WriteInt64Field(3, l);
                break;
            case short sh:
                writer.WriteInt64Field(3, sh);
                break;
            case byte by:
                writer.WriteInt64Field(3, by);
                break;
            case sbyte sb:
                writer.WriteInt64Field(3, sb);
                break;
            case uint ui:
                writer.WriteInt64Field(3, ui);
                break;
            case ushort us:
                writer.WriteInt64Field(3, us);
                break;
            case double d:
                writer.WriteDoubleField(4, d);
                break;
            case float f:
                writer.WriteDoubleField(4, f);
                break;
            case byte[] bytes:
                writer.WriteBytesField(7, bytes);
                break;
            case System.Collections.IEnumerable sequence when value is Array && !inArray:
                var array = writer.BeginMessage(5);
                foreach (var item in sequence)
                {
                    var element = writer.BeginMessage(1);
                    if (item is not null && !WriteAnyValueBody(writer, item, lengthLimit, inArray: true))
                    {
                        return false;
                    }

                    writer.EndMessage(element);
                }

                writer.EndMessage(array);
                break;
            default:
                if (AttributeText.Of(value) is not { } text)
                {
                    return false;
                }

                writer.WriteStringField(1, Truncate(text, lengthLimit));
                break;
        }

        return true;
    }

    // A cut between the two halves of a surrogate pair would leave half a character, which UTF-8
    // cannot carry (it would arrive as U+FFFD): the cut moves before the pair.
    internal static string Truncate(string value, int? limit)
    {
        if (limit is not int max || value.Length <= max)
        {
            return value;
        }

        if (max > 0 && char.IsHighSurrogate(value[max - 1]) && char.IsLowSurrogate(value[max]))
        {
            max--;
        }

        return value[..max];
    }
}

/// <summary>
/// Attributes already encoded, for what spans repeat: the attribute names (constants in the
/// instrumentations, the same string object every time) and whole attributes whose value repeats
/// too (a method, a route, a database system: the same string object; a port or a status code: the
/// same number). Both are direct-mapped tables by object identity, so a lookup neither hashes nor
/// compares text. An entry is encoded the second time it is seen, so values made per request (each
/// a new string) never allocate here; a slot in use gives way only after it missed more than it hit,
/// so those values do not push out the ones that repeat. Bounded: 256 names and 256 attributes of
/// at most 127 bytes each. Not thread-safe: one per export thread, and one per app thread that
/// encodes spans as they end.
/// </summary>
internal sealed class AttributeKeys
{
    private const int Slots = 256;
    private const int MaxEncodedLength = 127;
    private const int MaxHits = 8;

    private readonly string?[] _names = new string?[Slots];
    private readonly byte[]?[] _encoded = new byte[]?[Slots];
    private readonly Entry[] _attributes = new Entry[Slots];
    private int? _lengthLimit;

    private enum ValueKind : byte
    {
        /// <summary>Only an empty slot: every value looked up has one of the other kinds.</summary>
        None,
        Text,
        Integer,
        Boolean,
    }

    public void Write(ProtoWriter writer, string name)
    {
        var slot = RuntimeHelpers.GetHashCode(name) & (Slots - 1);
        if (!ReferenceEquals(_names[slot], name))
        {
            _names[slot] = name;
            _encoded[slot] = null;
            writer.WriteStringField(1, name);
            return;
        }

        if (_encoded[slot] is { } encoded)
        {
            writer.WriteRaw(encoded);
            return;
        }

        var start = writer.Length;
        writer.WriteStringField(1, name);
        if (writer.Length - start <= MaxEncodedLength)
        {
            _encoded[slot] = writer.WrittenSpan[start..].ToArray();
        }
    }

    /// <summary>
    /// The attribute length limit of the span about to be written, once per span. A string value's
    /// encoding depends on it: entries made under another limit (another encoder on this thread;
    /// tests) are dropped, not reused.
    /// </summary>
    public void BeginSpan(int? lengthLimit)
    {
        if (lengthLimit != _lengthLimit)
        {
            Array.Clear(_attributes);
            _lengthLimit = lengthLimit;
        }
    }

    /// <summary>One KeyValue in <paramref name="field"/>, as <see cref="OtlpCommon.WriteKeyValue"/> writes it (false, with nothing written, as it says), under the limit given to <see cref="BeginSpan"/>.</summary>
    public bool WriteAttribute(ProtoWriter writer, int field, string key, object value)
    {
        var lengthLimit = _lengthLimit;
        string? text = null;
        long number = 0;
        ValueKind kind;
        switch (value)
        {
            case string s:
                text = s;
                kind = ValueKind.Text;
                break;
            case int i:
                number = i;
                kind = ValueKind.Integer;
                break;
            case long l:
                number = l;
                kind = ValueKind.Integer;
                break;
            case bool b:
                number = b ? 1 : 0;
                kind = ValueKind.Boolean;
                break;
            default:
                return OtlpCommon.WriteKeyValue(writer, field, key, value, lengthLimit, this);
        }

        var hash = RuntimeHelpers.GetHashCode(key) ^ (text is null ? (int)number * -1640531535 : RuntimeHelpers.GetHashCode(text));
        ref var entry = ref _attributes[(hash ^ (hash >> 8)) & (Slots - 1)];
        if (ReferenceEquals(entry.Key, key) && entry.Kind == kind && ReferenceEquals(entry.Text, text) && entry.Number == number)
        {
            if (entry.Body is { } body)
            {
                writer.WriteTag(field, 2);
                writer.WriteVarint((uint)body.Length);
                writer.WriteRaw(body);
                if (entry.Hits < MaxHits)
                {
                    entry.Hits++;
                }

                return true;
            }

            // Seen before: encode it and keep its body (after its tag and length) for the next time.
            var start = writer.Length;
            OtlpCommon.WriteKeyValue(writer, field, key, value, lengthLimit, this);
            entry.Body = KeyValueBody(writer.WrittenSpan[start..]);
            entry.Hits = 1;
            return true;
        }

        if (entry.Body is not null && entry.Hits > 0)
        {
            entry.Hits--;
        }
        else
        {
            entry = new Entry { Key = key, Text = text, Number = number, Kind = kind };
        }

        return OtlpCommon.WriteKeyValue(writer, field, key, value, lengthLimit, this);
    }

    // The bytes of a length-delimited field after its tag and length, if short enough to keep.
    private static byte[]? KeyValueBody(ReadOnlySpan<byte> field)
    {
        var at = 0;
        ReadVarint(field, ref at); // the tag
        var length = ReadVarint(field, ref at);
        return length <= MaxEncodedLength && at + (int)length == field.Length ? field[at..].ToArray() : null;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong value = 0;
        var shift = 0;
        byte b;
        do
        {
            b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);

        return value;
    }

    private struct Entry
    {
        public string? Key;
        public string? Text;
        public long Number;
        public ValueKind Kind;
        public byte Hits;
        public byte[]? Body;
    }
}
