using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace TraceAgent.Viewer.Query;

/// <summary>
/// Reads Jaeger's query parameters: service, operation, tags (a JSON object, may repeat), tag
/// (key:value, may repeat), minDuration / maxDuration (Go durations: "1s", "100ms"), start / end
/// (Unix microseconds), limit; and the Jaeger UI's lookback ("1h", "2d"). The viewer's own
/// pages add errors=true and durationOf=trace.
/// </summary>
internal static class QueryParser
{
    public const int JaegerDefaultLimit = 100;

    /// <exception cref="QueryException">A parameter that cannot be read, with Jaeger's wording.</exception>
    public static TraceQuery Parse(IQueryCollection query, int defaultLimit, DateTimeOffset now)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string? tag in query["tag"])
        {
            int colon = tag?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            if (tag is null || colon < 0)
            {
                throw new QueryException($"malformed 'tag' parameter, expecting key:value, received: {tag}");
            }

            tags[tag[..colon]] = tag[(colon + 1)..];
        }

        foreach (string? json in query["tags"])
        {
            if (string.IsNullOrWhiteSpace(json))
            {
                continue;
            }

            try
            {
                foreach ((string key, string value) in JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [])
                {
                    tags[key] = value;
                }
            }
            catch (JsonException ex)
            {
                throw new QueryException($"malformed 'tags' parameter, cannot unmarshal JSON: {ex.Message}");
            }
        }

        long? minDuration = Duration(query, "minDuration");
        long? maxDuration = Duration(query, "maxDuration");
        if (minDuration is long min && maxDuration is long max && min != 0 && max != 0 && max < min)
        {
            throw new QueryException("'maxDuration' should be greater than 'minDuration'");
        }

        long? end = Micros(query, "end");
        long? start = Micros(query, "start");
        string lookback = query["lookback"].ToString();
        if (start is null && lookback.Length > 0 && lookback != "custom")
        {
            long span = LookbackNanos(lookback) ?? throw new QueryException($"unable to parse param 'lookback': invalid duration \"{lookback}\"");
            start = (end ?? UnixNano(now)) - span;
        }

        int limit = defaultLimit;
        string limitText = query["limit"].ToString();
        if (limitText.Length > 0)
        {
            if (!int.TryParse(limitText, NumberStyles.Integer, CultureInfo.InvariantCulture, out limit))
            {
                throw new QueryException($"unable to parse param 'limit': strconv.ParseInt: parsing \"{limitText}\": invalid syntax");
            }

            limit = limit <= 0 ? defaultLimit : limit;
        }

        string errors = query["errors"].ToString();
        return new TraceQuery
        {
            Service = Text(query["service"]),
            Operation = Text(query["operation"]),
            Tags = tags,
            MinDurationNanos = minDuration is 0 ? null : minDuration,
            MaxDurationNanos = maxDuration is 0 ? null : maxDuration,
            DurationOfTrace = query["durationOf"].ToString() == "trace",
            StartMinUnixNano = start,
            StartMaxUnixNano = end,
            ErrorsOnly = errors is "true" or "1",
            TraceIds = [.. query["traceID"].Where(id => !string.IsNullOrEmpty(id)).Select(id => id!.ToLowerInvariant())],
            Limit = limit,
        };
    }

    /// <summary>A lookback as the Jaeger UI writes it: a Go duration, or a whole number of days ("2d") or weeks ("1w").</summary>
    public static long? LookbackNanos(string text)
    {
        if (text.Length > 1 && (text[^1] == 'd' || text[^1] == 'w')
            && int.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
        {
            return count * (text[^1] == 'd' ? 86_400_000_000_000L : 7 * 86_400_000_000_000L);
        }

        return GoDuration.TryParse(text, out _) is long nanos and >= 0 ? nanos : null;
    }

    public static long UnixNano(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static string? Text(StringValues value) => value.Count == 0 || string.IsNullOrEmpty(value[0]) ? null : value[0];

    private static long? Duration(IQueryCollection query, string name)
    {
        string text = query[name].ToString();
        if (text.Length == 0)
        {
            return null;
        }

        return GoDuration.TryParse(text, out string? error) ?? throw new QueryException($"unable to parse param '{name}': {error}");
    }

    /// <summary>Microseconds since the Unix epoch, returned as nanoseconds.</summary>
    public static long? Micros(IQueryCollection query, string name)
    {
        string text = query[name].ToString();
        if (text.Length == 0)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long micros))
        {
            throw new QueryException($"unable to parse param '{name}': strconv.ParseInt: parsing \"{text}\": invalid syntax");
        }

        return micros * 1000;
    }
}

/// <summary>A query parameter that cannot be read; answered with 400 and Jaeger's error envelope.</summary>
internal sealed class QueryException(string message) : Exception(message);
