using System.Buffers;
using System.Text;

namespace TraceAgent.Propagation;

// The W3C baggage header, https://www.w3.org/TR/baggage/.
internal static class BaggagePropagation
{
    // The spec's limits: a platform must propagate up to 64 members and 8192 bytes, and MAY drop
    // members beyond either. We drop whole members (never a partial one) both when reading and
    // when writing.
    public const int MaxMembers = 64;
    public const int MaxLength = 8192;

    // How much of a combined header is scanned at all. Members past MaxLength bytes of kept
    // members are dropped anyway; the slack lets invalid or empty members before them not crowd
    // out valid ones, while a huge header still costs bounded work.
    public const int MaxScanLength = 4 * MaxLength;

    private const int MaxSeenKeys = 2 * MaxMembers;

    public static List<KeyValuePair<string, string?>>? Extract<TReader>(TReader reader)
        where TReader : struct, IHeaderReader
    {
        string? header = HeaderValues.GetCombined(reader, PropagationHeaders.Baggage, MaxScanLength, out bool truncated);
        return header is null ? null : Parse(header, truncated);
    }

    // Returns the members in header order, or null when there are none. Keys and values are
    // percent-decoded and OWS-trimmed; properties (";k=v" after the value) are metadata, not part
    // of the value, and are dropped because Activity baggage has nowhere to keep them. A member
    // that does not match the grammar is skipped. Keys are decoded too so that keys this agent
    // had to encode (a key that is not a token) come back unchanged.
    public static List<KeyValuePair<string, string?>>? Parse(ReadOnlySpan<char> header, bool truncated)
    {
        if (header.Length > MaxScanLength)
        {
            header = header[..MaxScanLength];
            truncated = true;
        }

        if (truncated)
        {
            // The last member may have been cut in the middle.
            int lastComma = header.LastIndexOf(',');
            header = lastComma < 0 ? ReadOnlySpan<char>.Empty : header[..lastComma];
        }

        List<KeyValuePair<string, string?>>? result = null;
        int length = 0;
        while (!header.IsEmpty)
        {
            int comma = header.IndexOf(',');
            ReadOnlySpan<char> member = Whitespace.TrimOws(comma < 0 ? header : header[..comma]);
            header = comma < 0 ? ReadOnlySpan<char>.Empty : header[(comma + 1)..];
            if (member.IsEmpty)
            {
                continue;
            }

            int semicolon = member.IndexOf(';');
            ReadOnlySpan<char> pair = semicolon < 0 ? member : member[..semicolon];
            int equals = pair.IndexOf('=');
            if (equals < 0)
            {
                continue;
            }

            ReadOnlySpan<char> key = Whitespace.TrimOws(pair[..equals]);
            ReadOnlySpan<char> value = Whitespace.TrimOws(pair[(equals + 1)..]);
            if (!BaggageGrammar.IsToken(key) || !BaggageGrammar.IsValue(value))
            {
                continue;
            }

            // The member is ASCII here, so characters are bytes.
            int size = member.Length + (result is null ? 0 : 1);
            if (length + size > MaxLength)
            {
                continue;
            }

            length += size;
            result ??= new List<KeyValuePair<string, string?>>();
            result.Add(new KeyValuePair<string, string?>(PercentEncoding.Decode(key), PercentEncoding.Decode(value)));
            if (result.Count == MaxMembers)
            {
                break;
            }
        }

        return result;
    }

    // Builds the header value, or null when nothing is to be sent. The first occurrence of a key
    // wins: Activity.Baggage lists a child's items before its parents', so a key set again on a
    // child shadows the parent's value, which is what Activity.GetBaggageItem returns too (and the
    // spec asks producers not to send duplicate keys). A member that would push the header past
    // MaxLength is skipped and later, smaller ones are still considered.
    public static string? Format(IEnumerable<KeyValuePair<string, string?>> baggage)
    {
        using IEnumerator<KeyValuePair<string, string?>> items = baggage.GetEnumerator();
        if (!items.MoveNext())
        {
            return null;
        }

        StringBuilder builder = StringBuilderCache.Acquire();
        string[] seen = ArrayPool<string>.Shared.Rent(MaxSeenKeys);
        int seenCount = 0;
        int members = 0;
        try
        {
            do
            {
                KeyValuePair<string, string?> item = items.Current;
                if (string.IsNullOrEmpty(item.Key) || Contains(seen, seenCount, item.Key))
                {
                    continue;
                }

                seen[seenCount++] = item.Key;

                // Encoding never shortens text, so an item this long cannot fit; checking first
                // keeps a huge value from being encoded only to be thrown away.
                if (item.Key.Length + 1 + (item.Value?.Length ?? 0) > MaxLength)
                {
                    continue;
                }

                int start = builder.Length;
                if (members > 0)
                {
                    builder.Append(',');
                }

                PercentEncoding.Encode(builder, item.Key, isKey: true);
                builder.Append('=');
                if (item.Value is not null)
                {
                    PercentEncoding.Encode(builder, item.Value, isKey: false);
                }

                if (builder.Length > MaxLength)
                {
                    builder.Length = start;
                }
                else
                {
                    members++;
                }
            }
            while (members < MaxMembers && seenCount < MaxSeenKeys && items.MoveNext());

            if (members == 0)
            {
                StringBuilderCache.Release(builder);
                return null;
            }

            return StringBuilderCache.GetStringAndRelease(builder);
        }
        finally
        {
            ArrayPool<string>.Shared.Return(seen, clearArray: true);
        }
    }

    private static bool Contains(string[] keys, int count, string key)
    {
        for (int i = 0; i < count; i++)
        {
            if (string.Equals(keys[i], key, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
