namespace TraceAgent.Viewer.Analysis;

/// <summary>Thresholds, and what is known beyond the trace being analysed.</summary>
internal sealed class AnalysisContext
{
    public static readonly AnalysisContext Default = new();

    /// <summary>Repeats of one operation under one parent that make an N+1 finding.</summary>
    public int NPlusOneThreshold { get; init; } = 5;

    /// <summary>Direct children of one span that make a fan-out finding.</summary>
    public int FanOutThreshold { get; init; } = 10;

    /// <summary>How many of the slowest spans (by self time) to name.</summary>
    public int SlowestCount { get; init; } = 3;

    /// <summary>
    /// Span ids that some span of any trace links to. In link mode a Kafka consumer starts its own
    /// trace and points back at the producer with a link, so the producer's trace alone cannot
    /// tell that its message was consumed.
    /// </summary>
    public Func<string, bool> IsLinkedFromElsewhere { get; init; } = _ => false;
}
