using System.Text;

namespace TraceAgent.Http;

/// <summary>
/// Keeps query keys and replaces their values with REDACTED (semantic conventions' advice for
/// url.query and url.full), and drops user:password from a URL's authority.
/// </summary>
public static class UrlRedaction
{
    public const string Redacted = "REDACTED";

    /// <summary>Redacts a query string without its leading '?'.</summary>
    public static string RedactQuery(string query)
    {
        if (query.Length == 0)
        {
            return query;
        }

        var text = new StringBuilder(query.Length + 16);
        var start = 0;
        while (start <= query.Length)
        {
            var end = query.IndexOf('&', start);
            if (end < 0)
            {
                end = query.Length;
            }

            var part = query.AsSpan(start, end - start);
            var eq = part.IndexOf('=');
            if (text.Length > 0 || start > 0)
            {
                text.Append('&');
            }

            if (eq >= 0)
            {
                text.Append(part[..eq]).Append('=').Append(Redacted);
            }
            else
            {
                text.Append(part);
            }

            start = end + 1;
        }

        return text.ToString();
    }

    /// <summary>Redacts the query values and any credentials of an absolute URL given as text.</summary>
    public static string RedactUrl(string url, bool redactQuery)
    {
        var result = url;
        var scheme = result.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0)
        {
            var authorityStart = scheme + 3;
            var authorityEnd = result.IndexOfAny(['/', '?', '#'], authorityStart);
            if (authorityEnd < 0)
            {
                authorityEnd = result.Length;
            }

            var at = result.LastIndexOf('@', authorityEnd - 1, authorityEnd - authorityStart);
            if (at >= 0)
            {
                result = string.Concat(result.AsSpan(0, authorityStart), "REDACTED:REDACTED@", result.AsSpan(at + 1));
            }
        }

        if (!redactQuery)
        {
            return result;
        }

        var question = result.IndexOf('?', StringComparison.Ordinal);
        if (question < 0)
        {
            return result;
        }

        var fragment = result.IndexOf('#', question);
        var queryEnd = fragment < 0 ? result.Length : fragment;
        var redacted = RedactQuery(result[(question + 1)..queryEnd]);
        return string.Concat(result.AsSpan(0, question + 1), redacted, fragment < 0 ? ReadOnlySpan<char>.Empty : result.AsSpan(fragment));
    }
}
