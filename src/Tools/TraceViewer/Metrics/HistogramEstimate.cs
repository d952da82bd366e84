namespace TraceAgent.Viewer.Metrics;

/// <summary>
/// Percentiles of an explicit-bucket histogram. The buckets say only how many values fell between
/// two bounds, so a percentile is estimated by linear interpolation inside the bucket it falls in,
/// as if that bucket's values were spread evenly between its bounds (what Prometheus'
/// histogram_quantile does). The estimate always lies within the bounds of the bucket that holds
/// the true value.
/// </summary>
internal static class HistogramEstimate
{
    /// <summary>
    /// The value below which <paramref name="quantile"/> (0 to 1) of the counted values lie, or null
    /// when nothing was counted. Bucket i holds values in (bounds[i-1], bounds[i]]; the first bucket
    /// starts at 0 (durations are never negative) and the last one, above the highest bound, ends at
    /// the highest bound unless <paramref name="max"/> is known. A known <paramref name="min"/> and
    /// <paramref name="max"/> (of these values or of more) narrow the lowest and the highest non-empty
    /// bucket: no value lies outside them.
    /// </summary>
    public static double? Percentile(IReadOnlyList<double> bounds, IReadOnlyList<ulong> counts, double quantile, double? min = null, double? max = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quantile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quantile, 1);
        if (counts.Count != bounds.Count + 1)
        {
            throw new ArgumentException($"{counts.Count} bucket counts for {bounds.Count} bounds; expected one more count than bounds", nameof(counts));
        }

        ulong total = 0;
        int first = -1;
        int last = -1;
        for (int i = 0; i < counts.Count; i++)
        {
            total += counts[i];
            if (counts[i] > 0)
            {
                first = first < 0 ? i : first;
                last = i;
            }
        }

        if (total == 0)
        {
            return null;
        }

        // The rank of the wanted value among the counted ones: the first bucket whose running total
        // reaches it holds the value.
        double rank = quantile * total;
        ulong before = 0;
        for (int i = 0; i < counts.Count; i++)
        {
            ulong inBucket = counts[i];
            if (inBucket == 0 || before + inBucket < rank)
            {
                before += inBucket;
                continue;
            }

            double lower = i == 0 ? Math.Min(0, bounds.Count > 0 ? bounds[0] : 0) : bounds[i - 1];
            double upper = i < bounds.Count ? bounds[i] : double.PositiveInfinity;
            if (i == first && min is double low)
            {
                lower = Math.Clamp(low, lower, upper);
            }

            if (i == last && max is double high)
            {
                upper = Math.Clamp(high, lower, upper);
            }

            if (double.IsPositiveInfinity(upper))
            {
                upper = lower;
            }

            return lower + ((upper - lower) * Math.Clamp((rank - before) / inBucket, 0, 1));
        }

        return null;
    }
}
