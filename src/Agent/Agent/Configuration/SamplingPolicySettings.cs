using System.Globalization;

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

    public static SamplingPolicySettings Read(SettingsReader reader) => new(
        ReadRate(reader),
        ReadRules(reader),
        reader.GetBool(ConfigurationKeys.SamplerKeepErrors, false),
        reader.GetOptionalInt(ConfigurationKeys.SamplerKeepSlowerThanMs, 1),
        reader.GetInt(ConfigurationKeys.SamplerKeepMaxBufferedSpans, DefaultKeepMaxBufferedSpans, 1));

    private static double? ReadRate(SettingsReader reader)
    {
        var raw = reader.GetString(ConfigurationKeys.SamplerMaxTracesPerSecond);
        if (raw is null)
        {
            return null;
        }

        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate > 0 && double.IsFinite(rate))
        {
            return rate;
        }

        reader.Invalid(ConfigurationKeys.SamplerMaxTracesPerSecond, raw, "is not a number above 0", "no rate limit");
        return null;
    }

    /// <summary>"pattern=ratio,pattern=ratio": an entry that does not parse is left out with one line, the others kept in order.</summary>
    private static IReadOnlyList<SamplingRule> ReadRules(SettingsReader reader)
    {
        var raw = reader.GetString(ConfigurationKeys.SamplerRules);
        if (raw is null)
        {
            return [];
        }

        var rules = new List<SamplingRule>();
        var bad = new List<string>();
        foreach (var item in raw.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.LastIndexOf('=');
            if (eq > 0
                && double.TryParse(item.AsSpan(eq + 1).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio)
                && ratio is >= 0 and <= 1)
            {
                rules.Add(new SamplingRule(item[..eq].Trim(), ratio));
            }
            else
            {
                bad.Add(item);
            }
        }

        if (bad.Count > 0)
        {
            var kept = rules.Count == 0 ? "no rules" : string.Join(",", rules.Select(r => r.Pattern + "=" + r.Ratio.ToString(CultureInfo.InvariantCulture)));
            reader.Invalid(ConfigurationKeys.SamplerRules, raw, "has entries that are not pattern=ratio with a ratio from 0 to 1 (" + string.Join(", ", bad) + ")", kept);
        }

        return rules;
    }
}
