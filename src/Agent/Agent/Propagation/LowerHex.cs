namespace TraceAgent.Propagation;

// W3C Trace Context and B3 both define identifiers as lower-case hex; upper case is invalid in both.
internal static class LowerHex
{
    public static bool IsDigit(char c) => (uint)(c - '0') <= 9 || (uint)(c - 'a') <= 5;

    public static bool IsHex(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            if (!IsDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    // An identifier is valid when it is all lower-case hex and not all zeros.
    public static bool IsValidId(ReadOnlySpan<char> value)
    {
        bool nonZero = false;
        foreach (char c in value)
        {
            if (!IsDigit(c))
            {
                return false;
            }

            nonZero |= c != '0';
        }

        return nonZero;
    }

    public static byte ParseByte(char high, char low) => (byte)((Value(high) << 4) | Value(low));

    // The digit of a value from 0 to 15.
    public static char Digit(byte value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);

    private static int Value(char c) => c <= '9' ? c - '0' : c - 'a' + 10;
}
