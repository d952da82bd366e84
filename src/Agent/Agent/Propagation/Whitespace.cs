namespace TraceAgent.Propagation;

// OWS as RFC 9110 defines it: spaces and horizontal tabs only. string.Trim() would also strip
// CR, LF and Unicode spaces, which none of the propagation specs allow.
internal static class Whitespace
{
    public static bool IsOws(char c) => c == ' ' || c == '\t';

    public static ReadOnlySpan<char> TrimOws(ReadOnlySpan<char> value)
    {
        int start = 0;
        int end = value.Length;
        while (start < end && IsOws(value[start]))
        {
            start++;
        }

        while (end > start && IsOws(value[end - 1]))
        {
            end--;
        }

        return value[start..end];
    }
}
