using System.Globalization;

namespace TraceAgent.Viewer.Query;

/// <summary>
/// Durations written the way Jaeger's query API takes them (Go's time.ParseDuration): a sequence
/// of decimal numbers with units, "1s", "100ms", "1.5h", "2h45m", "300us" / "300µs", "10ns"; a
/// bare "0" is zero.
/// </summary>
internal static class GoDuration
{
    private static readonly (string Unit, double Nanos)[] Units =
    [
        ("ns", 1),
        ("us", 1e3),
        ("µs", 1e3),
        ("μs", 1e3),
        ("ms", 1e6),
        ("s", 1e9),
        ("m", 60e9),
        ("h", 3600e9),
    ];

    /// <summary>Nanoseconds, or null with <paramref name="error"/> saying what is wrong.</summary>
    public static long? TryParse(string text, out string? error)
    {
        error = null;
        string s = text.Trim();
        if (s == "0")
        {
            return 0;
        }

        bool negative = s.StartsWith('-');
        if (negative || s.StartsWith('+'))
        {
            s = s[1..];
        }

        if (s.Length == 0)
        {
            error = $"invalid duration \"{text}\"";
            return null;
        }

        double total = 0;
        int i = 0;
        while (i < s.Length)
        {
            int numberStart = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            if (i == numberStart || !double.TryParse(s[numberStart..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
            {
                error = $"invalid duration \"{text}\"";
                return null;
            }

            int unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }

            string unit = s[unitStart..i];
            if (unit.Length == 0)
            {
                error = $"missing unit in duration \"{text}\" (use ns, us, ms, s, m or h)";
                return null;
            }

            double? scale = null;
            foreach ((string name, double nanos) in Units)
            {
                if (name == unit)
                {
                    scale = nanos;
                }
            }

            if (scale is null)
            {
                error = $"unknown unit \"{unit}\" in duration \"{text}\" (use ns, us, ms, s, m or h)";
                return null;
            }

            total += number * scale.Value;
        }

        if (total > long.MaxValue)
        {
            error = $"invalid duration \"{text}\"";
            return null;
        }

        return (long)Math.Round(negative ? -total : total);
    }
}
