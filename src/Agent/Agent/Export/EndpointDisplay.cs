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
            return endpoint.OriginalString;
        }

        var shown = endpoint.GetLeftPart(UriPartial.Scheme) + endpoint.Authority + endpoint.AbsolutePath;
        return endpoint.Query.Length > 1 ? shown + "?REDACTED" : shown;
    }
}
