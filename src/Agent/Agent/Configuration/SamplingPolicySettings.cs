namespace TraceAgent.Configuration;

/// <summary>One sampling rule: root spans whose request path (server) or topic (Kafka consumer) matches the glob are sampled at the ratio.</summary>
public sealed record SamplingRule(string Pattern, double Ratio);

/// <summary>
/// The agent's sampling policies on top of OTEL_TRACES_SAMPLER (docs/sampling.md): a rate limit on
/// new root traces, per-route and per-topic rules, and keeping the traces the head sampler did not
/// choose when they end in an error or are slow.
/// </summary>
public sealed record SamplingPolicySettings(
    double? MaxTracesPerSecond,
    IReadOnlyList<SamplingRule> Rules,
    bool KeepErrors,
    int? KeepSlowerThanMilliseconds,
    int KeepMaxBufferedSpans)
{
    public const int DefaultKeepMaxBufferedSpans = 8192;

    public static SamplingPolicySettings None { get; } = new(null, [], false, null, DefaultKeepMaxBufferedSpans);

    /// <summary>True when any policy is configured; otherwise the head sampler alone decides, as before.</summary>
    public bool Any => MaxTracesPerSecond is not null || Rules.Count > 0 || Keeps;

    /// <summary>True when unsampled traces are recorded in the process until their local root ends.</summary>
    public bool Keeps => KeepErrors || KeepSlowerThanMilliseconds is not null;
}
