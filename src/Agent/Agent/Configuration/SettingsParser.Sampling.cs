using System.Globalization;

namespace TraceAgent.Configuration;

/// <summary>The agent's sampling policies (TRACEAGENT_SAMPLER_*, docs/sampling.md).</summary>
internal static partial class SettingsParser
{
    internal static SamplingPolicySettings ReadSamplingPolicies(SettingsReader reader) => new(
        ReadSamplingRate(reader),
        ReadSamplingRules(reader),
        reader.GetBool(ConfigurationKeys.SamplerKeepErrors, false),
        reader.GetOptionalInt(ConfigurationKeys.SamplerKeepSlowerThanMs, 1),
        reader.GetInt(ConfigurationKeys.SamplerKeepMaxBufferedSpans, SamplingPolicySettings.DefaultKeepMaxBufferedSpans, 1));

    private static double? ReadSamplingRate(SettingsReader reader)
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
    private static IReadOnlyList<SamplingRule> ReadSamplingRules(SettingsReader reader)
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
