using System.Globalization;

namespace TraceAgent.Bench;

/// <summary>Values over rounds (or runs): their median and their range, each round's value kept.</summary>
internal sealed record Spread(double Median, double Min, double Max, IReadOnlyList<double> Values)
{
    public bool IsEmpty => Values.Count == 0;

    public static Spread Of(IEnumerable<double> values)
    {
        var list = values.Where(v => !double.IsNaN(v) && !double.IsInfinity(v)).ToList();
        if (list.Count == 0)
        {
            return new Spread(double.NaN, double.NaN, double.NaN, list);
        }

        var sorted = list.Order().ToArray();
        int mid = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return new Spread(median, sorted[0], sorted[^1], list);
    }

    /// <summary>"1.07x [1.02-1.10]" (the median, then the range over rounds).</summary>
    public string Format(string format, string unit = "")
    {
        if (IsEmpty)
        {
            return "-";
        }

        string F(double v) => v.ToString(format, CultureInfo.InvariantCulture) + unit;
        return Values.Count == 1 ? F(Median) : $"{F(Median)} [{F(Min)} to {F(Max)}]";
    }
}

/// <summary>
/// A target is met only when every round clears it: a median that clears it while some round does
/// not is "not met in every round"; when no round clears it, it is missed.
/// </summary>
internal static class Verdicts
{
    public static string AtMost(Spread spread, double limit) => Judge(spread, v => v <= limit);

    public static string AtLeast(Spread spread, double limit) => Judge(spread, v => v >= limit);

    public static string Above(Spread spread, double limit) => Judge(spread, v => v > limit);

    private static string Judge(Spread spread, Func<double, bool> clears)
    {
        if (spread.IsEmpty)
        {
            return "not measured";
        }

        int cleared = spread.Values.Count(clears);
        if (cleared == spread.Values.Count)
        {
            return "met";
        }

        return cleared == 0
            ? "**missed**"
            : string.Create(CultureInfo.InvariantCulture, $"**not met in every round** ({cleared} of {spread.Values.Count})");
    }
}
