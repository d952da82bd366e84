using System.Buffers;

namespace TraceAgent.Propagation;

// The W3C tracestate header, https://www.w3.org/TR/trace-context-2/#tracestate-header, with the
// Level 2 key grammar: a key starts with a lower-case letter or a digit and holds up to 256 of
// lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@". Level 1's tenant@system split (241 + 14
// characters, exactly one "@") is gone: "foo@", "foo@@bar" and a 242-character tenant are keys now,
// and the W3C test suite's strict level expects them forwarded.
//
// Why an invalid member discards the whole header: the spec's processing model says "If the
// tracestate header cannot be parsed the vendor MAY discard the entire header", and the W3C test
// suite expects exactly that (an illegal key, an illegal value, a key longer than the
// grammar allows, or a 33rd member each make the whole tracestate disappear). Keeping the valid
// rest would forward a list the sender never produced and that the next hop may reject anyway.
//
// Duplicate keys are different: the spec makes uniqueness the sender's duty and says vendors "MAY
// discard duplicate keys", and the test suite accepts either value being forwarded. We keep the
// left-most occurrence (left is the most recent position per "Mutating the tracestate field") and
// drop the later ones, so we never forward a list with a key twice.
internal static class TraceState
{
    public const int MaxMembers = 32;

    // The spec asks to propagate at least 512 characters. 32 members of at most 513 characters
    // could exceed this bound, but only a hostile or broken sender gets near it; such a header is
    // discarded whole, since the spec forbids forwarding partial entries and the cost of parsing
    // it stays bounded.
    public const int MaxLength = 8192;

    private const int MaxKeyLength = 256;
    private const int MaxValueLength = 256;
    private const int StackBufferLength = 512;

    // Validates a combined tracestate value. Returns false when it must be discarded. On success,
    // normalized holds the members joined by ',' without OWS, empty members or duplicates, or null
    // when there are no members (an empty header is valid). An already normalized input is
    // returned as is.
    public static bool TryNormalize(string? value, out string? normalized)
    {
        normalized = null;
        if (value is null)
        {
            return true;
        }

        if (value.Length > MaxLength)
        {
            return false;
        }

        char[]? rented = null;
        Span<char> buffer = value.Length <= StackBufferLength
            ? stackalloc char[StackBufferLength]
            : (rented = ArrayPool<char>.Shared.Rent(value.Length));
        try
        {
            if (!TryNormalize(value, buffer, out int written))
            {
                return false;
            }

            if (written == 0)
            {
                return true;
            }

            ReadOnlySpan<char> result = buffer[..written];
            normalized = result.SequenceEqual(value) ? value : new string(result);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    // key = ( lcalpha / DIGIT ) 0*255 ( keychar ); keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
    public static bool IsValidKey(ReadOnlySpan<char> key) =>
        key.Length is > 0 and <= MaxKeyLength
        && (IsLcAlpha(key[0]) || char.IsAsciiDigit(key[0]))
        && AreKeyChars(key[1..]);

    // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
    public static bool IsValidValue(ReadOnlySpan<char> value)
    {
        if (value.Length is 0 or > MaxValueLength || value[^1] == ' ')
        {
            return false;
        }

        foreach (char c in value)
        {
            if (c < 0x20 || c > 0x7E || c == ',' || c == '=')
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryNormalize(ReadOnlySpan<char> value, Span<char> output, out int written)
    {
        written = 0;

        // Start and length of each kept key inside output, for the duplicate check.
        Span<int> keyStarts = stackalloc int[MaxMembers];
        Span<int> keyLengths = stackalloc int[MaxMembers];
        int members = 0;
        int distinct = 0;

        while (true)
        {
            int comma = value.IndexOf(',');
            ReadOnlySpan<char> member = Whitespace.TrimOws(comma < 0 ? value : value[..comma]);

            // Empty and whitespace-only members are allowed (they appear when several headers are
            // combined) and do not count as list members.
            if (!member.IsEmpty)
            {
                if (++members > MaxMembers)
                {
                    return false;
                }

                int equals = member.IndexOf('=');
                if (equals < 0)
                {
                    return false;
                }

                ReadOnlySpan<char> key = member[..equals];
                if (!IsValidKey(key) || !IsValidValue(member[(equals + 1)..]))
                {
                    return false;
                }

                if (!IsDuplicate(output, keyStarts[..distinct], keyLengths[..distinct], key))
                {
                    if (written > 0)
                    {
                        output[written++] = ',';
                    }

                    keyStarts[distinct] = written;
                    keyLengths[distinct] = key.Length;
                    distinct++;
                    member.CopyTo(output[written..]);
                    written += member.Length;
                }
            }

            if (comma < 0)
            {
                return true;
            }

            value = value[(comma + 1)..];
        }
    }

    private static bool IsDuplicate(ReadOnlySpan<char> output, ReadOnlySpan<int> starts, ReadOnlySpan<int> lengths, ReadOnlySpan<char> key)
    {
        for (int i = 0; i < starts.Length; i++)
        {
            if (output.Slice(starts[i], lengths[i]).SequenceEqual(key))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsLcAlpha(char c) => (uint)(c - 'a') <= 'z' - 'a';

    private static bool AreKeyChars(ReadOnlySpan<char> chars)
    {
        foreach (char c in chars)
        {
            if (!(IsLcAlpha(c) || char.IsAsciiDigit(c) || c is '_' or '-' or '*' or '/' or '@'))
            {
                return false;
            }
        }

        return true;
    }
}
