using System.Collections;
using System.Globalization;

namespace TraceAgent.Configuration;

/// <summary>
/// Reads raw values once, parses them with the invariant culture and, for a value it cannot use,
/// keeps one line naming the variable, the bad value and the value used instead. The lines are
/// written by whoever applies the settings (the bootstrap), after OTEL_LOG_LEVEL and
/// OTEL_DOTNET_AUTO_LOG_DIRECTORY, read in the same pass, have configured the agent's log.
/// </summary>
public sealed class SettingsReader
{
    private readonly IReadOnlyDictionary<string, string> _values;
    private readonly List<string> _warnings = [];

    public SettingsReader(IReadOnlyDictionary<string, string> values)
    {
        _values = values;
    }

    public IReadOnlyList<string> Warnings => _warnings;

    public static SettingsReader FromEnvironment()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value)
            {
                values[key] = value;
            }
        }

        return new SettingsReader(values);
    }

    public string? GetString(string key)
    {
        return _values.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
    }

    public bool GetBool(string key, bool defaultValue)
    {
        var raw = GetString(key);
        if (raw is null)
        {
            return defaultValue;
        }

        if (string.Equals(raw, "true", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (string.Equals(raw, "false", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        Invalid(key, raw, "is not true or false", defaultValue ? "true" : "false");
        return defaultValue;
    }

    public int GetInt(string key, int defaultValue, int min, int max = int.MaxValue)
    {
        var raw = GetString(key);
        if (raw is null)
        {
            return defaultValue;
        }

        if (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        var range = max == int.MaxValue
            ? string.Create(CultureInfo.InvariantCulture, $"is not an integer of at least {min}")
            : string.Create(CultureInfo.InvariantCulture, $"is not an integer from {min} to {max}");
        Invalid(key, raw, range, defaultValue.ToString(CultureInfo.InvariantCulture));
        return defaultValue;
    }

    public int? GetOptionalInt(string key, int min)
    {
        var raw = GetString(key);
        if (raw is null)
        {
            return null;
        }

        if (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min)
        {
            return value;
        }

        Invalid(key, raw, string.Create(CultureInfo.InvariantCulture, $"is not an integer of at least {min}"), "no limit");
        return null;
    }

    public IReadOnlyList<string> GetList(string key, IReadOnlyList<string> defaultValue)
    {
        var raw = GetString(key);
        if (raw is null)
        {
            return defaultValue;
        }

        var items = new List<string>();
        foreach (var part in raw.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            items.Add(part);
        }

        return items;
    }

    public void Invalid(string key, string value, string reason, string usedInstead)
    {
        // The reason and the fallback may quote parts of the value (unknown list items): they are
        // cleaned and bounded like the value itself.
        var line = $"{key}='{Printable(value)}' {Printable(reason, 600)}; using {Printable(usedInstead, 600)}";
        _warnings.Add(line);
    }

    private static string Printable(string value, int maxLength = 200)
    {
        // A value may be long or carry control characters: keep the log line one short line.
        var shown = value.Length > maxLength ? string.Concat(value.AsSpan(0, maxLength), "...") : value;
        return string.Create(shown.Length, shown, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = char.IsControl(s[i]) || s[i] is '\u2028' or '\u2029' ? '?' : s[i];
            }
        });
    }
}
