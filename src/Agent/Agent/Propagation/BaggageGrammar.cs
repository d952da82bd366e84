namespace TraceAgent.Propagation;

// Character classes of https://www.w3.org/TR/baggage/#definition.
internal static class BaggageGrammar
{
    // tchar of RFC 9110 token: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_"
    // / "`" / "|" / "~" / DIGIT / ALPHA
    public static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c)
        || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';

    // baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E: printable ASCII without
    // space, DQUOTE, comma, semicolon and backslash.
    public static bool IsBaggageOctet(char c) =>
        c is (>= (char)0x21 and <= (char)0x7E) and not '"' and not ',' and not ';' and not '\\';

    public static bool IsToken(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!IsTokenChar(c))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValue(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            if (!IsBaggageOctet(c))
            {
                return false;
            }
        }

        return true;
    }
}
