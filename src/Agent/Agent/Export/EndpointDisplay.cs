namespace TraceAgent.Export;

/// <summary>
/// An exporter endpoint as the agent's log lines show it: credentials in the authority
/// (user:password@) and query values (some collectors take an API key there) are secrets.
/// </summary>
internal static class EndpointDisplay
{
    public static string Of(Uri endpoint)
    {
        if (!endpoint.IsAbsoluteUri)
        {
            return OfText(endpoint.OriginalString);
        }

        var shown = endpoint.GetLeftPart(UriPartial.Scheme) + endpoint.Authority + endpoint.AbsolutePath;
        return endpoint.Query.Length > 1 ? shown + "?REDACTED" : shown;
    }

    /// <summary>
    /// A value given for an endpoint that is not a URL the agent can use, shown the same way: what
    /// lies between the scheme and the last '@' is left out, and so is what follows a '?' or '#'
    /// (a query shown as "?REDACTED").
    /// </summary>
    public static string OfText(string value)
    {
        var end = value.IndexOfAny(['?', '#']);
        var shown = end < 0 ? value : value[..end];
        var schemeEnd = shown.IndexOf("://", StringComparison.Ordinal);
        var authorityStart = schemeEnd < 0 ? 0 : schemeEnd + 3;
        // The last '@' anywhere: a password may hold a '/', and too much left out of a value that
        // was rejected anyway costs nothing.
        var at = shown.LastIndexOf('@');
        if (at >= authorityStart)
        {
            shown = string.Concat(shown.AsSpan(0, authorityStart), shown.AsSpan(at + 1));
        }

        return end >= 0 && value[end] == '?' && end < value.Length - 1 ? shown + "?REDACTED" : shown;
    }
}
