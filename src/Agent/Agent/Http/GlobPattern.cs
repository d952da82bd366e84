namespace TraceAgent.Http;

/// <summary>
/// Glob patterns for path and URL filters: '*' matches any run of characters (including '/'),
/// '?' one character; matching is case-insensitive and covers the whole text.
/// </summary>
public sealed class GlobPattern
{
    private readonly string[] _patterns;

    public GlobPattern(IReadOnlyList<string> patterns)
    {
        _patterns = patterns.ToArray();
    }

    public bool IsEmpty => _patterns.Length == 0;

    public bool Matches(ReadOnlySpan<char> text)
    {
        foreach (var pattern in _patterns)
        {
            if (IsMatch(pattern, text))
            {
                return true;
            }
        }

        return false;
    }

    internal static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        // Iterative wildcard matching with one backtrack point: linear in practice, no regex.
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(text[t])))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
