using System.Text;

namespace TraceAgent.Http;

/// <summary>
/// Keeps query keys and replaces their values with REDACTED (semantic conventions' advice for
/// url.query and url.full), and drops user:password from a URL's authority; and writes an outgoing
/// URL as the runtime redacts it (<see cref="HiddenQuery"/>).
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

    /// <summary>
    /// Redacts the query values and any credentials of an absolute URL given as text; the same
    /// string when there is nothing to redact. Searched by hand, character by character: it runs at
    /// the end of every client span, and the framework's string searches it used (for "://", any of
    /// three characters, the last '@') were five methods the JIT compiled twice, in the first
    /// seconds, for the agent alone.
    /// </summary>
    public static string RedactUrl(string url, bool redactQuery)
    {
        var result = url;
        var scheme = SchemeEnd(result);
        if (scheme > 0)
        {
            var authorityStart = scheme + 3;
            var authorityEnd = authorityStart;
            while (authorityEnd < result.Length && result[authorityEnd] is not ('/' or '?' or '#'))
            {
                authorityEnd++;
            }

            var at = authorityEnd - 1;
            while (at >= authorityStart && result[at] != '@')
            {
                at--;
            }

            if (at >= authorityStart)
            {
                result = string.Concat(result.AsSpan(0, authorityStart), "REDACTED:REDACTED@", result.AsSpan(at + 1));
            }
        }

        if (!redactQuery)
        {
            return result;
        }

        var question = Find(result, '?', 0);
        if (question < 0)
        {
            return result;
        }

        var fragment = Find(result, '#', question);
        var queryEnd = fragment < 0 ? result.Length : fragment;
        if (queryEnd == question + 2 && result[question + 1] == '*')
        {
            // The runtime's own redaction ("?*", .NET 9 and later): nothing left to redact.
            return result;
        }

        var redacted = RedactQuery(result[(question + 1)..queryEnd]);
        return string.Concat(result.AsSpan(0, question + 1), redacted, fragment < 0 ? ReadOnlySpan<char>.Empty : result.AsSpan(fragment));
    }

    /// <summary>
    /// An outgoing request's URL as the runtime writes url.full from .NET 9 on (unless the app turns
    /// its System.Net.Http.DisableUriRedaction switch on): scheme, host, the port unless the
    /// scheme's default, the path, and a query reduced to <c>?*</c>; no credentials, no fragment.
    /// </summary>
    public static string HiddenQuery(Uri uri)
    {
        // Most URLs have no query, fragment or credentials: then they are written as they are,
        // with no string made (AbsoluteUri is the Uri's own, kept once made).
        var absolute = uri.AbsoluteUri;
        if (absolute.AsSpan().IndexOfAny('?', '#', '@') < 0)
        {
            return absolute;
        }

        var pathAndQuery = uri.PathAndQuery;
        var question = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
        var path = question >= 0 && question < pathAndQuery.Length - 1 ? string.Concat(pathAndQuery.AsSpan(0, question + 1), "*") : pathAndQuery;
        // Authority: the host, with the port unless it is the scheme's default; no credentials.
        return string.Concat(uri.Scheme, "://", uri.Authority, path);
    }

    // Where "://" starts, -1 if nowhere.
    private static int SchemeEnd(string url)
    {
        for (var i = 0; i + 2 < url.Length; i++)
        {
            if (url[i] == ':' && url[i + 1] == '/' && url[i + 2] == '/')
            {
                return i;
            }
        }

        return -1;
    }

    private static int Find(string text, char c, int from)
    {
        for (var i = from; i < text.Length; i++)
        {
            if (text[i] == c)
            {
                return i;
            }
        }

        return -1;
    }
}
