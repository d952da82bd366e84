namespace TraceAgent.Viewer.Analysis;

internal enum FindingSeverity
{
    Info,
    Warning,
    Error,
}

/// <summary>
/// One thing an analysis rule noticed in a trace. <see cref="SpanIds"/> are the spans it is about,
/// in the order that matters to the rule (the path, the repeats); <see cref="Details"/> holds the
/// facts a program would want without parsing the message.
/// </summary>
internal sealed record Finding(
    string Rule,
    FindingSeverity Severity,
    string Message,
    IReadOnlyList<string> SpanIds,
    IReadOnlyDictionary<string, string> Details)
{
    public static Finding Create(
        string rule,
        FindingSeverity severity,
        string message,
        IEnumerable<string> spanIds,
        params (string Key, string? Value)[] details) =>
        new(
            rule,
            severity,
            message,
            [.. spanIds],
            details.Where(d => d.Value is not null).ToDictionary(d => d.Key, d => d.Value!, StringComparer.Ordinal));
}
