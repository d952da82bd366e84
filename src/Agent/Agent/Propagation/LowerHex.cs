using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

        // A trace id (16 bytes) or span id (8), sixteen digits per vector: 6 ns for both against 33
        // ns a digit at a time (this machine); a span's encoding decodes three to five of them.
        if (Vector128.IsHardwareAccelerated && destination.Length is 16 or 8)
        {
            ref ushort digits = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(hex.AsSpan()));
            var first = Pairs(Vector128.Narrow(Vector128.LoadUnsafe(ref digits), Vector128.LoadUnsafe(ref digits, 8)));
            var second = destination.Length == 16
                ? Pairs(Vector128.Narrow(Vector128.LoadUnsafe(ref digits, 16), Vector128.LoadUnsafe(ref digits, 24)))
                : first;
            var bytes = Vector128.Narrow(first, second);
            if (destination.Length == 16)
            {
                bytes.StoreUnsafe(ref MemoryMarshal.GetReference(destination));
            }
            else
            {
                Unsafe.WriteUnaligned(ref MemoryMarshal.GetReference(destination), bytes.AsUInt64().ToScalar());
            }

            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (byte)((Nibble(hex[2 * i]) << 4) | Nibble(hex[(2 * i) + 1]));
        }
    }

    // Sixteen digits (ASCII bytes) to eight 16-bit lanes, each the byte of a pair: the first
    // digit's value in the high nibble. Values as Nibble works them out, a lane at a time.
    private static Vector128<ushort> Pairs(Vector128<byte> digits)
    {
        var letters = Vector128.Equals(digits & Vector128.Create((byte)0x40), Vector128.Create((byte)0x40));
        var values = (digits & Vector128.Create((byte)0x0F)) + (letters & Vector128.Create((byte)9));
        var lanes = values.AsUInt16();
        return Vector128.ShiftLeft(lanes & Vector128.Create((ushort)0x00FF), 4) | Vector128.ShiftRightLogical(lanes, 8);
    }

    // '0'-'9' (0x30-0x39) have bit 6 clear, 'a'-'f' (0x61-0x66) set: their low nibble plus 9.
    private static int Nibble(char c) => (c & 0xF) + (9 * (c >> 6));

    public static byte ParseByte(char high, char low) => (byte)((Value(high) << 4) | Value(low));

    // The digit of a value from 0 to 15.
    public static char Digit(byte value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);

    private static int Value(char c) => c <= '9' ? c - '0' : c - 'a' + 10;
}
