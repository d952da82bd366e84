namespace TraceAgent.Tracing;

/// <summary>Which ActivitySources the agent listens to: exact names and trailing-'*' prefixes.</summary>
internal sealed class SourceMatcher
{
    private readonly HashSet<string> _exact = new(StringComparer.Ordinal);
    private readonly List<string> _prefixes = [];

    public SourceMatcher(IEnumerable<string> patterns)
    {
        foreach (var pattern in patterns)
        {
            if (pattern == "*")
            {
                _prefixes.Add(string.Empty);
            }
            else if (pattern.EndsWith('*'))
            {
                _prefixes.Add(pattern[..^1]);
            }
            else
            {
                _exact.Add(pattern);
            }
        }
    }

    public bool Matches(string name)
    {
        if (_exact.Contains(name))
        {
            return true;
        }

        foreach (var prefix in _prefixes)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
