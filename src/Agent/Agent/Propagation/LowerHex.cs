using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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

    /// <summary>
    /// The bytes of an identifier the runtime holds as text (ActivityTraceId and ActivitySpanId keep
    /// their value as lower-case hex; ToHexString returns it without a copy). The runtime made or
    /// validated that text, so this decodes without checking, with no branch or table per digit; the
    /// runtime's own CopyTo checks every pair. Text of the wrong length leaves zeros.
    /// </summary>
    public static void DecodeId(string hex, Span<byte> destination)
    {
        if (hex.Length != destination.Length * 2)
        {
            destination.Clear();
            return;
        }

        // Four digits at a time, read as one 64-bit word of four UTF-16 lanes: 19 ns for a trace id
        // and a span id against 33 ns a digit at a time (this machine). Not Vector128: on an AVX-512
        // machine the runtime did not use such a method's ReadyToRun code (the precompiled-code
        // end-to-end tests), so every process JIT-compiled it.
        if (BitConverter.IsLittleEndian && destination.Length % 2 == 0)
        {
            ref byte digits = ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(hex.AsSpan()));
            for (int i = 0; i < destination.Length; i += 2)
            {
                ulong word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref digits, i * 4));

                // Each lane's value as Nibble works it out, then each pair of lanes as one byte.
                ulong values = (word & 0x000F_000F_000F_000FUL) + (((word >> 6) & 0x0001_0001_0001_0001UL) * 9);
                ulong pairs = (values << 4) | (values >> 16);
                destination[i] = (byte)pairs;
                destination[i + 1] = (byte)(pairs >> 32);
            }

            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (byte)((Nibble(hex[2 * i]) << 4) | Nibble(hex[(2 * i) + 1]));
        }
    }

    /// <summary>
    /// An identifier written as lower-case hex ASCII (a Kafka header's bytes) into its bytes:
    /// false, with <paramref name="destination"/> undefined, unless every byte is a lower-case hex
    /// digit and not all are '0'. Eight digits at a time, each read as one 64-bit word: its bytes
    /// checked by additions whose carries mark each byte's range, then decoded as <see cref="DecodeId"/>
    /// decodes four UTF-16 lanes. Also false on a big-endian machine or for lengths that are not
    /// whole words (TraceParent.TryParseIds then reads the ids by the text rules).
    /// </summary>
    public static bool TryDecodeUtf8Id(ReadOnlySpan<byte> hex, Span<byte> destination)
    {
        if (!BitConverter.IsLittleEndian || hex.Length != destination.Length * 2 || hex.Length % 8 != 0)
        {
            return false;
        }

        const ulong High = 0x8080_8080_8080_8080UL;
        ulong any = 0;
        for (int i = 0; i < hex.Length; i += 8)
        {
            ulong word = MemoryMarshal.Read<ulong>(hex.Slice(i, 8));

            // Below 0x80, no byte carries into the next when these are added. A byte's high bit is then
            // set in atLeast0 when it is at least '0' (0x30), in above9 when above '9', in atLeastA
            // when at least 'a' (0x61), in aboveF when above 'f'.
            ulong atLeast0 = word + 0x5050_5050_5050_5050UL;
            ulong above9 = word + 0x4646_4646_4646_4646UL;
            ulong atLeastA = word + 0x1F1F_1F1F_1F1F_1F1FUL;
            ulong aboveF = word + 0x1919_1919_1919_1919UL;
            if ((word & High) != 0 || (((atLeast0 & ~above9) | (atLeastA & ~aboveF)) & High) != High)
            {
                return false;
            }

            ulong values = (word & 0x0F0F_0F0F_0F0F_0F0FUL) + (((word >> 6) & 0x0101_0101_0101_0101UL) * 9);
            any |= values;
            ulong pairs = (values << 4) | (values >> 8);
            int at = i / 2;
            destination[at] = (byte)pairs;
            destination[at + 1] = (byte)(pairs >> 16);
            destination[at + 2] = (byte)(pairs >> 32);
            destination[at + 3] = (byte)(pairs >> 48);
        }

        return any != 0;
    }

    // '0'-'9' (0x30-0x39) have bit 6 clear, 'a'-'f' (0x61-0x66) set: their low nibble plus 9.
    private static int Nibble(char c) => (c & 0xF) + (9 * (c >> 6));

    public static byte ParseByte(char high, char low) => (byte)((Value(high) << 4) | Value(low));

    // The digit of a value from 0 to 15.
    public static char Digit(byte value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);

    private static int Value(char c) => c <= '9' ? c - '0' : c - 'a' + 10;
}
