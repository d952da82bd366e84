using System.Globalization;

namespace TraceAgent.Sampling;

/// <summary>
/// The OpenTelemetry rejection threshold of a sampling probability (specification "TraceState:
/// Probability Sampling"): a 56-bit T = (1 - p) * 2^56, kept when the trace's 56-bit randomness is
/// at least T, and written in the <c>ot</c> tracestate member as <c>th:</c> with trailing zeros
/// removed. Four hex digits of precision, raised by one digit per factor of 16 below 1/2 so that
/// small probabilities keep four significant digits (the specification's default).
/// </summary>
internal readonly struct ProbabilityThreshold
{
    public const int RandomnessBits = 56;
    public const ulong MaxRandomness = (1UL << RandomnessBits) - 1;
    private const int DefaultPrecision = 4;

    private ProbabilityThreshold(ulong value, string encoded)
    {
        Value = value;
        Encoded = encoded;
    }

    /// <summary>Sample when randomness &gt;= Value; 0 keeps everything.</summary>
    public ulong Value { get; }

    /// <summary>The <c>th</c> value: 1 to 14 lower-case hex digits.</summary>
    public string Encoded { get; }

    /// <summary>The threshold for a probability from 2^-56 to 1; false below (never sampled, no threshold).</summary>
    public static bool TryFromProbability(double probability, out ProbabilityThreshold threshold)
    {
        threshold = default;
        if (double.IsNaN(probability) || probability < Math.ScaleB(1.0, -RandomnessBits))
        {
            return false;
        }

        if (probability >= 1.0)
        {
            threshold = new ProbabilityThreshold(0, "0");
            return true;
        }

        // probability = m * 2^exponent with m in [0.5, 1), as C's frexp gives it.
        var exponent = Math.ILogB(probability) + 1;
        var precision = Math.Clamp(DefaultPrecision + (int)Math.Floor(exponent / -4.0), 1, 12);

        // 2 - p is in (1, 2]: its 52 mantissa bits are the 13 hex digits of the rejection
        // probability's fraction. Adding half of the last kept digit and truncating rounds it.
        var rejection = 2.0 - probability + Math.ScaleB(0.5, -4 * precision);
        var digits = rejection >= 2.0
            ? (1UL << (4 * precision)) - 1
            : ((ulong)BitConverter.DoubleToInt64Bits(rejection) & ((1UL << 52) - 1)) >> (4 * (13 - precision));

        var value = digits << (4 * (14 - precision));
        var text = digits.ToString("x" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).TrimEnd('0');
        threshold = new ProbabilityThreshold(value, text.Length == 0 ? "0" : text);
        return true;
    }

    /// <summary>Parses a <c>th</c> value (1 to 14 lower-case hex digits; missing digits are trailing zeros).</summary>
    public static bool TryParse(ReadOnlySpan<char> encoded, out ulong value)
    {
        value = 0;
        if (encoded.Length is 0 or > 14)
        {
            return false;
        }

        foreach (var c in encoded)
        {
            int digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | (uint)digit;
        }

        value <<= 4 * (14 - encoded.Length);
        return true;
    }

    /// <summary>The probability a threshold stands for: (2^56 - T) / 2^56.</summary>
    public static double ToProbability(ulong value) => (double)((1UL << RandomnessBits) - value) / (1UL << RandomnessBits);
}
