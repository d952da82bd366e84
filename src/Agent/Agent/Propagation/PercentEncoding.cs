using System.Buffers;
using System.Text;

namespace TraceAgent.Propagation;

// RFC 3986 percent-encoding of UTF-8, as W3C Baggage uses it. Not WebUtility.UrlEncode/UrlDecode:
// those turn ' ' into '+' and '+' into ' ', which baggage does not do.
internal static class PercentEncoding
{
    private const int StackBufferLength = 256;
    private const string UpperHexDigits = "0123456789ABCDEF";

    // value must be ASCII (the baggage grammar guarantees it). A '%' not followed by two hex digits
    // is kept literally; decoded bytes that are not valid UTF-8 become U+FFFD, as the baggage spec
    // requires (Encoding.UTF8 uses the replacement fallback).
    public static string Decode(ReadOnlySpan<char> value)
    {
        if (value.IndexOf('%') < 0)
        {
            return value.ToString();
        }

        byte[]? rented = null;
        Span<byte> bytes = value.Length <= StackBufferLength
            ? stackalloc byte[StackBufferLength]
            : (rented = ArrayPool<byte>.Shared.Rent(value.Length));
        try
        {
            int length = 0;
            for (int i = 0; i < value.Length; i++)
            {
                char c = value[i];
                if (c == '%' && i + 2 < value.Length && char.IsAsciiHexDigit(value[i + 1]) && char.IsAsciiHexDigit(value[i + 2]))
                {
                    bytes[length++] = (byte)((HexValue(value[i + 1]) << 4) | HexValue(value[i + 2]));
                    i += 2;
                }
                else
                {
                    bytes[length++] = (byte)c;
                }
            }

            return Encoding.UTF8.GetString(bytes[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    // Appends value with every character the baggage grammar does not allow in a key (a token) or a
    // value (baggage-octet) percent-encoded as UTF-8. '%' itself is always encoded so that decoding
    // gives the original back. A lone surrogate is encoded as U+FFFD, as UTF-8 cannot represent it.
    public static void Encode(StringBuilder builder, string value, bool isKey)
    {
        ReadOnlySpan<char> rest = value;
        Span<byte> utf8 = stackalloc byte[4];
        while (!rest.IsEmpty)
        {
            char c = rest[0];
            if (c != '%' && (isKey ? BaggageGrammar.IsTokenChar(c) : BaggageGrammar.IsBaggageOctet(c)))
            {
                builder.Append(c);
                rest = rest[1..];
                continue;
            }

            if (Rune.DecodeFromUtf16(rest, out Rune rune, out int consumed) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar;
                consumed = Math.Max(consumed, 1);
            }

            int written = rune.EncodeToUtf8(utf8);
            for (int i = 0; i < written; i++)
            {
                builder.Append('%').Append(UpperHexDigits[utf8[i] >> 4]).Append(UpperHexDigits[utf8[i] & 0xF]);
            }

            rest = rest[consumed..];
        }
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
