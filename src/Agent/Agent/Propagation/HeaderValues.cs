using System.Text;

namespace TraceAgent.Propagation;

internal static class HeaderValues
{
    // A carrier handing back thousands of tiny values must not cost unbounded work.
    private const int MaxValueCount = 256;

    // Returns the first value of a header and how many values were present (0, 1, or 2 meaning "more
    // than one"). Formats whose header must appear once (traceparent) reject count > 1; B3 takes the
    // first value as its specification says.
    public static string? GetFirst<TReader>(TReader reader, string name, string? lowerCaseName, out int count)
        where TReader : struct, IHeaderReader
    {
        Read(reader, name, lowerCaseName, out string? value, out IEnumerable<string>? values);
        count = 0;
        if (value is not null)
        {
            count = 1;
            return value;
        }

        if (values is null)
        {
            return null;
        }

        string? first = null;
        int seen = 0;
        foreach (string? item in values)
        {
            if (++seen > MaxValueCount)
            {
                break;
            }

            if (item is null)
            {
                continue;
            }

            if (first is null)
            {
                first = item;
                count = 1;
            }
            else
            {
                count = 2;
                break;
            }
        }

        return first;
    }

    // Combines every value of a header with ',' as RFC 9110 section 5.3 says a recipient may. At
    // most maxLength characters are gathered; truncated reports that more was there, and then a
    // single-value result may be longer than maxLength (it is returned as is, without copying).
    public static string? GetCombined<TReader>(TReader reader, string name, int maxLength, out bool truncated)
        where TReader : struct, IHeaderReader
    {
        Read(reader, name, null, out string? value, out IEnumerable<string>? values);
        truncated = false;
        if (value is not null)
        {
            truncated = value.Length > maxLength;
            return value;
        }

        if (values is null)
        {
            return null;
        }

        string? single = null;
        StringBuilder? builder = null;
        int seen = 0;
        foreach (string? item in values)
        {
            if (++seen > MaxValueCount)
            {
                truncated = true;
                break;
            }

            if (item is null)
            {
                continue;
            }

            if (single is null && builder is null)
            {
                single = item;
                if (item.Length > maxLength)
                {
                    truncated = true;
                    break;
                }

                continue;
            }

            if (builder is null)
            {
                builder = new StringBuilder(single!.Length + item.Length + 1);
                builder.Append(single);
                single = null;
            }

            int room = maxLength - builder.Length - 1;
            if (room < item.Length)
            {
                truncated = true;
                if (room >= 0)
                {
                    builder.Append(',').Append(item.AsSpan(0, room));
                }

                break;
            }

            builder.Append(',').Append(item);
        }

        return builder?.ToString() ?? single;
    }

    private static void Read<TReader>(TReader reader, string name, string? lowerCaseName, out string? value, out IEnumerable<string>? values)
        where TReader : struct, IHeaderReader
    {
        reader.Read(name, out value, out values);
        if (value is null && values is null && lowerCaseName is not null)
        {
            reader.Read(lowerCaseName, out value, out values);
        }
    }
}
