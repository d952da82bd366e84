using System.Globalization;

namespace TraceAgent.Viewer.Analysis;

internal static class Format
{
    /// <summary>A duration in the unit a person reads best: 850 µs, 12.3 ms, 1.24 s.</summary>
    public static string Duration(long nanos)
    {
        double value = nanos;
        return value switch
        {
            < 1_000 => string.Create(CultureInfo.InvariantCulture, $"{nanos} ns"),
            < 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{value / 1_000:0} µs"),
            < 10_000_000 => string.Create(CultureInfo.InvariantCulture, $"{value / 1_000_000:0.00} ms"),
            < 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{value / 1_000_000:0.0} ms"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{value / 1_000_000_000:0.00} s"),
        };
    }

    public static string Percent(long part, long whole) =>
        whole <= 0 ? "0%" : string.Create(CultureInfo.InvariantCulture, $"{100.0 * part / whole:0}%");

    public static string Millis(long nanos) => (nanos / 1_000_000.0).ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>A retention period: 7 d, 12 h, 30 min.</summary>
    public static string Age(TimeSpan age) =>
        age.TotalDays >= 1 && age.TotalDays == Math.Floor(age.TotalDays) ? string.Create(CultureInfo.InvariantCulture, $"{age.TotalDays:0} d")
        : age.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{age.TotalHours:0.#} h")
        : string.Create(CultureInfo.InvariantCulture, $"{age.TotalMinutes:0.#} min");

    public static string Count(int count) => count.ToString(CultureInfo.InvariantCulture);
}
