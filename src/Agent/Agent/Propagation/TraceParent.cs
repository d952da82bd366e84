using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TraceAgent.Propagation;

// The W3C traceparent header, https://www.w3.org/TR/trace-context-2/#traceparent-header. Level 2
// defines two flags: sampled (0x01) and random-trace-id (0x02); both are kept, every other bit is
// cleared as the spec asks of a version-00 writer. Public for the instrumentations built as their
// own assemblies (Kafka reads and writes it on header bytes).
public static class TraceParent
{
    // version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
    public const int Version0Length = 55;

    // Version 00 is 55 characters; a future version may append fields, so longer values are
    // legal. The specification asks pass-through parsers to "only disallow prohibitively large
    // headers": beyond 512 characters we stop looking, which bounds the work per request.
    public const int MaxLength = 512;

    private const int TraceIdOffset = 3;
    private const int ParentIdOffset = 36;
    private const int FlagsOffset = 53;
    private const byte SampledFlag = 0x01;

    // Level 2: the right-most 7 bytes of the trace id are random. A participant that keeps the trace
    // id MUST keep this flag as it came (set or unset) on everything it sends onward.
    public const byte RandomFlag = 0x02;

    public const byte KnownFlags = SampledFlag | RandomFlag;

    // Parses a traceparent by the version-00 rules, and a higher version by the spec's "Versioning
    // of traceparent" rules: the first 55 characters are read as version 00 and must be followed
    // by '-' or the end; whatever follows is not looked at. Surrounding OWS is ignored, as an HTTP
    // field value would have it stripped (the W3C test suite sends such headers and expects them
    // to be accepted).
    public static bool TryParse(
        ReadOnlySpan<char> value,
        out ReadOnlySpan<char> traceId,
        out ReadOnlySpan<char> parentId,
        out byte flags) =>
        TryParseText(value, out traceId, out parentId, out flags);

    // The same rules on UTF-8 bytes, for carriers whose values are bytes (Kafka headers): no string
    // is made. The bytes are widened on the stack and read by the one parser; the ids returned are
    // the same positions of the bytes. A byte outside ASCII becomes a Latin-1 character, never a
    // hex digit, '-' or OWS, so it fails as it would as text.
    public static bool TryParse(
        ReadOnlySpan<byte> value,
        out ReadOnlySpan<byte> traceId,
        out ReadOnlySpan<byte> parentId,
        out byte flags)
    {
        // One byte past the limit is enough for the parser to refuse a value that is too long.
        Span<char> text = stackalloc char[Math.Min(value.Length, MaxLength + 1)];
        for (int i = 0; i < text.Length; i++)
        {
            text[i] = (char)value[i];
        }

        if (!TryParseText(text, out var traceText, out var parentText, out flags))
        {
            traceId = parentId = default;
            return false;
        }

        traceId = value.Slice(OffsetIn(text, traceText), traceText.Length);
        parentId = value.Slice(OffsetIn(text, parentText), parentText.Length);
        return true;
    }

    /// <summary>
    /// The same rules on UTF-8 bytes, giving the ids themselves (a Kafka consumer's context). A
    /// version-00 value of exactly 55 bytes, the form every W3C propagator writes, is checked and
    /// decoded in one pass, eight digits at a time, with no text made of it; anything else (OWS, a
    /// higher version) and anything that fails that pass goes through <see cref="TryParse(ReadOnlySpan{byte}, out ReadOnlySpan{byte}, out ReadOnlySpan{byte}, out byte)"/>,
    /// so both give the same answer.
    /// </summary>
    public static bool TryParseIds(ReadOnlySpan<byte> value, out ActivityTraceId traceId, out ActivitySpanId parentId, out byte flags)
    {
        if (value.Length == Version0Length
            && value[0] == (byte)'0' && value[1] == (byte)'0' && value[2] == (byte)'-'
            && value[ParentIdOffset - 1] == (byte)'-' && value[FlagsOffset - 1] == (byte)'-'
            && LowerHex.IsDigit((char)value[FlagsOffset]) && LowerHex.IsDigit((char)value[FlagsOffset + 1]))
        {
            Span<byte> ids = stackalloc byte[24];
            if (LowerHex.TryDecodeUtf8Id(value.Slice(TraceIdOffset, 32), ids[..16])
                && LowerHex.TryDecodeUtf8Id(value.Slice(ParentIdOffset, 16), ids[16..]))
            {
                traceId = ActivityTraceId.CreateFromBytes(ids[..16]);
                parentId = ActivitySpanId.CreateFromBytes(ids[16..]);
                flags = LowerHex.ParseByte((char)value[FlagsOffset], (char)value[FlagsOffset + 1]);
                return true;
            }
        }

        if (!TryParse(value, out var traceText, out var parentText, out flags))
        {
            traceId = default;
            parentId = default;
            return false;
        }

        traceId = ActivityTraceId.CreateFromUtf8String(traceText);
        parentId = ActivitySpanId.CreateFromUtf8String(parentText);
        return true;
    }

    private static int OffsetIn(ReadOnlySpan<char> whole, ReadOnlySpan<char> part) =>
        (int)(Unsafe.ByteOffset(ref MemoryMarshal.GetReference(whole), ref MemoryMarshal.GetReference(part)) / sizeof(char));

    // The one parser, for UTF-16 and (widened) UTF-8. Not generic over the element type: the
    // ReadyToRun image held no code for such a parser's instantiation over char, so every process
    // JIT-compiled it, at tier 0 first, on the request path of its first seconds.
    private static bool TryParseText(
        ReadOnlySpan<char> value,
        out ReadOnlySpan<char> traceId,
        out ReadOnlySpan<char> parentId,
        out byte flags)
    {
        traceId = default;
        parentId = default;
        flags = 0;
        if (value.Length > MaxLength)
        {
            return false;
        }

        value = TrimOws(value);
        if (value.Length < Version0Length)
        {
            return false;
        }

        char v0 = value[0];
        char v1 = value[1];
        if (!LowerHex.IsDigit(v0) || !LowerHex.IsDigit(v1) || value[2] != '-')
        {
            return false;
        }

        // Version ff is forbidden.
        if (v0 == 'f' && v1 == 'f')
        {
            return false;
        }

        bool isVersion0 = v0 == '0' && v1 == '0';
        if (isVersion0 ? value.Length != Version0Length : value.Length > Version0Length && value[Version0Length] != '-')
        {
            return false;
        }

        if (value[ParentIdOffset - 1] != '-' || value[FlagsOffset - 1] != '-')
        {
            return false;
        }

        ReadOnlySpan<char> trace = value.Slice(TraceIdOffset, 32);
        ReadOnlySpan<char> parent = value.Slice(ParentIdOffset, 16);
        char f0 = value[FlagsOffset];
        char f1 = value[FlagsOffset + 1];
        if (!IsValidId(trace) || !IsValidId(parent) || !LowerHex.IsDigit(f0) || !LowerHex.IsDigit(f1))
        {
            return false;
        }

        traceId = trace;
        parentId = parent;
        flags = LowerHex.ParseByte(f0, f1);
        return true;
    }

    public static bool IsSampled(byte flags) => (flags & SampledFlag) != 0;

    // Returns a version-00 traceparent for any acceptable input; null input or an invalid value
    // gives false. The spec says a higher version is downgraded to 00 and flags this version does
    // not define are set to zero, so only the sampled and random bits survive. An input that is
    // already in that form is returned as is, without allocating.
    public static bool TryNormalize(string? value, [NotNullWhen(true)] out string? normalized)
    {
        normalized = null;
        if (value is null || !TryParse(value, out ReadOnlySpan<char> traceId, out ReadOnlySpan<char> parentId, out byte flags))
        {
            return false;
        }

        flags &= KnownFlags;
        if (value.Length == Version0Length && value[0] == '0' && value[1] == '0' && value[FlagsOffset] == '0' && value[FlagsOffset + 1] == LowerHex.Digit(flags))
        {
            normalized = value;
            return true;
        }

        normalized = Format(traceId, parentId, flags);
        return true;
    }

    // traceId is 32 and spanId 16 lower-case hex characters (checked by the callers); flags holds
    // only known bits (at most 0x03).
    public static string Format(ReadOnlySpan<char> traceId, ReadOnlySpan<char> spanId, byte flags)
    {
        Span<char> buffer = stackalloc char[Version0Length];
        FormatText(traceId, spanId, flags, buffer);
        return new string(buffer);
    }

    // The same header as UTF-8 bytes into the first Version0Length bytes of destination, for
    // carriers whose values are bytes (Kafka headers): no string is made.
    public static void Format(ActivityTraceId traceId, ActivitySpanId spanId, byte flags, Span<byte> destination)
    {
        if (destination.Length < Version0Length)
        {
            throw new ArgumentException("traceparent needs 55 bytes of room");
        }

        Span<char> text = stackalloc char[Version0Length];
        FormatText(traceId.ToHexString(), spanId.ToHexString(), flags, text);
        for (int i = 0; i < Version0Length; i++)
        {
            destination[i] = (byte)text[i];
        }
    }

    private static void FormatText(ReadOnlySpan<char> traceId, ReadOnlySpan<char> spanId, byte flags, Span<char> destination)
    {
        if (traceId.Length != 32 || spanId.Length != 16 || destination.Length < Version0Length)
        {
            throw new ArgumentException("traceparent needs a 32-character trace id, a 16-character span id and 55 characters of room");
        }

        destination[0] = '0';
        destination[1] = '0';
        destination[2] = '-';
        traceId.CopyTo(destination.Slice(TraceIdOffset, 32));
        destination[ParentIdOffset - 1] = '-';
        spanId.CopyTo(destination.Slice(ParentIdOffset, 16));
        destination[FlagsOffset - 1] = '-';
        destination[FlagsOffset] = '0';
        destination[FlagsOffset + 1] = LowerHex.Digit((byte)(flags & KnownFlags));
    }

    public static string Format(ReadOnlySpan<char> traceId, ReadOnlySpan<char> spanId, bool sampled) =>
        Format(traceId, spanId, sampled ? SampledFlag : (byte)0);

    // ActivityTraceId and ActivitySpanId keep their hex string, so this copies without formatting.
    public static string Format(ActivityTraceId traceId, ActivitySpanId spanId, byte flags) =>
        Format(traceId.ToHexString(), spanId.ToHexString(), flags);

    // The flags an Activity sends onward: sampled from its current decision (a sampler may have
    // changed it after the Id was first built), random as the trace's start made it.
    public static byte FlagsOf(Activity activity) => Tracing.RandomTraceFlag.W3CFlags(activity);

    // A W3C Activity's Id is already this header and is cached by the Activity, so it is reused
    // when its flags agree with what is sent.
    public static string FromActivity(Activity activity)
    {
        byte flags = FlagsOf(activity);
        string? id = activity.Id;
        if (id is not null
            && id.Length == Version0Length
            && id[0] == '0'
            && id[1] == '0'
            && id[FlagsOffset] == '0'
            && id[FlagsOffset + 1] == LowerHex.Digit(flags))
        {
            return id;
        }

        return Format(activity.TraceId, activity.SpanId, flags);
    }

    private static bool IsValidId(ReadOnlySpan<char> value)
    {
        bool nonZero = false;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (!LowerHex.IsDigit(c))
            {
                return false;
            }

            nonZero |= c != '0';
        }

        return nonZero;
    }

    private static ReadOnlySpan<char> TrimOws(ReadOnlySpan<char> value)
    {
        int start = 0;
        int end = value.Length;
        while (start < end && Whitespace.IsOws(value[start]))
        {
            start++;
        }

        while (end > start && Whitespace.IsOws(value[end - 1]))
        {
            end--;
        }

        return value[start..end];
    }
}
