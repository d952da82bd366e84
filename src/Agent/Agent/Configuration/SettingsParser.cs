using System.Globalization;
using TraceAgent.Diagnostics;
using TraceAgent.Export;

namespace TraceAgent.Configuration;

/// <summary>
/// The one place where environment values become settings: every key is read through the
/// <see cref="SettingsReader"/> (invariant culture; one warning line for a value it cannot use) and
/// the result is one immutable <see cref="AgentSettings"/>. Split by subject over
/// SettingsParser.*.cs: OTLP exporters, metrics, sampling policies.
/// </summary>
internal static partial class SettingsParser
{
    private static readonly string[] KnownExporters = ["otlp", "console", "zipkin", "none"];
    private static readonly string[] KnownPropagators = ["tracecontext", "baggage", "b3", "b3multi", "none"];
    private static readonly string[] KnownSamplers =
        ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];

    internal static AgentSettings Parse(SettingsReader reader, IEnumerable<string> instrumentationIds, IEnumerable<string> logsInstrumentationIds)
    {
        // The agent's own log first: the bootstrap applies it before it writes the warnings.
        var logLevel = ReadLogLevel(reader);
        var logDirectory = reader.GetString(ConfigurationKeys.LogDirectory);

        var traceOtlp = ReadOtlp(reader, "TRACES", "/v1/traces");
        var logsOtlp = ReadOtlp(reader, "LOGS", "/v1/logs");

        var instrumentationDefault = reader.GetBool(ConfigurationKeys.TracesInstrumentationEnabled, true);
        var switches = ReadSwitches(reader, instrumentationIds, ConfigurationKeys.InstrumentationEnabled, instrumentationDefault);
        var logsDefault = reader.GetBool(ConfigurationKeys.LogsInstrumentationEnabled, true);
        var logsSwitches = ReadSwitches(reader, logsInstrumentationIds, ConfigurationKeys.LogsInstrumentationSwitch, logsDefault);

        var sampler = ReadSampler(reader, out var ratio);
        var attributeCount = reader.GetInt(ConfigurationKeys.AttributeCountLimit, 128, 0);
        var attributeLength = reader.GetOptionalInt(ConfigurationKeys.AttributeValueLengthLimit, 0);
        var database = new DatabaseSettings(
            reader.GetBool(ConfigurationKeys.DbQueryTextEnabled, true),
            reader.GetBool(ConfigurationKeys.DbQuerySanitizationEnabled, true));

        return new AgentSettings
        {
            LogLevel = logLevel,
            LogDirectory = logDirectory,
            ServiceName = reader.GetString(ConfigurationKeys.ServiceName),
            ResourceAttributes = ParseResourceAttributes(reader),
            TracesEnabled = reader.GetBool(ConfigurationKeys.TracesEnabled, true),
            TracesExporters = ReadNames(reader, ConfigurationKeys.TracesExporter, ["otlp"], KnownExporters),
            Otlp = traceOtlp,
            ZipkinEndpoint = ReadUri(reader, ConfigurationKeys.ZipkinEndpoint, new Uri("http://localhost:9411/api/v2/spans")),
            Sampler = sampler,
            SamplerRatio = ratio,
            SamplingPolicies = ReadSamplingPolicies(reader),
            Propagators = ReadNames(reader, ConfigurationKeys.Propagators, ["tracecontext", "baggage"], KnownPropagators),
            Batch = ReadBatch(reader, ConfigurationKeys.BspScheduleDelay, 5000, ConfigurationKeys.BspExportTimeout, ConfigurationKeys.BspMaxQueueSize, ConfigurationKeys.BspMaxExportBatchSize),
            LogsBatch = ReadBatch(reader, ConfigurationKeys.BlrpScheduleDelay, 1000, ConfigurationKeys.BlrpExportTimeout, ConfigurationKeys.BlrpMaxQueueSize, ConfigurationKeys.BlrpMaxExportBatchSize),
            Limits = new SpanLimits(
                reader.GetInt(ConfigurationKeys.SpanAttributeCountLimit, attributeCount, 0),
                reader.GetOptionalInt(ConfigurationKeys.SpanAttributeValueLengthLimit, 0) ?? attributeLength,
                reader.GetInt(ConfigurationKeys.SpanEventCountLimit, 128, 0),
                reader.GetInt(ConfigurationKeys.SpanLinkCountLimit, 128, 0),
                reader.GetInt(ConfigurationKeys.EventAttributeCountLimit, 128, 0),
                reader.GetInt(ConfigurationKeys.LinkAttributeCountLimit, 128, 0)),
            FailFast = reader.GetBool(ConfigurationKeys.FailFast, false),
            AdditionalSources = reader.GetList(ConfigurationKeys.TracesAdditionalSources, []),
            InstrumentationDefault = instrumentationDefault,
            InstrumentationSwitches = switches,
            LogsInstrumentationDefault = logsDefault,
            LogsInstrumentationSwitches = logsSwitches,
            AspNetCore = new AspNetCoreSettings(
                reader.GetList(ConfigurationKeys.AspNetCoreCaptureRequestHeaders, []),
                reader.GetList(ConfigurationKeys.AspNetCoreCaptureResponseHeaders, []),
                !reader.GetBool(ConfigurationKeys.AspNetCoreDisableQueryRedaction, false),
                reader.GetList(ConfigurationKeys.AspNetCoreExcludedPaths, [])),
            HttpClient = new HttpClientSettings(
                reader.GetList(ConfigurationKeys.HttpCaptureRequestHeaders, []),
                reader.GetList(ConfigurationKeys.HttpCaptureResponseHeaders, []),
                !reader.GetBool(ConfigurationKeys.HttpDisableQueryRedaction, false),
                reader.GetList(ConfigurationKeys.HttpClientExcludedUrls, [])),
            Database = database,
            Redis = new RedisSettings(reader.GetBool(ConfigurationKeys.RedisCaptureKeys, false)),
            Kafka = new KafkaSettings(ReadKafkaMode(reader), reader.GetList(ConfigurationKeys.KafkaExcludedTopics, [])),
            Logs = new LogsSettings(
                reader.GetBool(ConfigurationKeys.LogsEnabled, true),
                ReadNames(reader, ConfigurationKeys.LogsExporter, ["none"], ["otlp", "console", "none"]),
                reader.GetBool(ConfigurationKeys.LogsIncludeFormattedMessage, false),
                logsOtlp),
            Metrics = ReadMetrics(reader),
        };
    }

    /// <summary>
    /// OTEL_LOG_LEVEL's names, the agent's one parser of them (the startup hook keeps a minimal copy:
    /// it runs before this assembly loads). Null for a name that is none of them.
    /// </summary>
    internal static AgentLogLevel? ParseLogLevel(string raw) => raw.Trim().ToLowerInvariant() switch
    {
        "none" or "off" => AgentLogLevel.None,
        "error" => AgentLogLevel.Error,
        "warn" or "warning" => AgentLogLevel.Warning,
        "info" => AgentLogLevel.Info,
        "debug" => AgentLogLevel.Debug,
        _ => null,
    };

    private static AgentLogLevel ReadLogLevel(SettingsReader reader)
    {
        var raw = reader.GetString(ConfigurationKeys.LogLevel);
        if (raw is null)
        {
            return AgentLogLevel.Info;
        }

        if (ParseLogLevel(raw) is { } level)
        {
            return level;
        }

        reader.Invalid(ConfigurationKeys.LogLevel, raw, "is not none, error, warn, info or debug", "info");
        return AgentLogLevel.Info;
    }

    private static Dictionary<string, bool> ReadSwitches(SettingsReader reader, IEnumerable<string> ids, Func<string, string> keyOf, bool defaultValue)
    {
        var switches = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var key = keyOf(id);
            if (reader.GetString(key) is not null)
            {
                switches[id] = reader.GetBool(key, defaultValue);
            }
        }

        return switches;
    }

    private static BatchSettings ReadBatch(SettingsReader reader, string delayKey, int defaultDelay, string timeoutKey, string queueKey, string batchKey)
    {
        var scheduleDelay = reader.GetInt(delayKey, defaultDelay, 1);
        var maxQueue = reader.GetInt(queueKey, 2048, 1);
        var maxBatch = reader.GetInt(batchKey, 512, 1);
        if (maxBatch > maxQueue)
        {
            reader.Invalid(batchKey, maxBatch.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture, $"is larger than {queueKey} ({maxQueue})"), maxQueue.ToString(CultureInfo.InvariantCulture));
            maxBatch = maxQueue;
        }

        return new BatchSettings(scheduleDelay, reader.GetInt(timeoutKey, 30000, 1), maxQueue, maxBatch);
    }

    private static Uri ReadUri(SettingsReader reader, string key, Uri defaultValue)
    {
        var raw = reader.GetString(key);
        if (raw is null)
        {
            return defaultValue;
        }

        if (Uri.TryCreate(raw, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        // Shown as exporter endpoints are: a value that is not a usable URL may still carry
        // credentials or an API key in its query, and the fallback may be built from another
        // endpoint variable that does.
        reader.Invalid(key, EndpointDisplay.OfText(raw), "is not an absolute http or https URL", EndpointDisplay.Of(defaultValue));
        return defaultValue;
    }

    private static IReadOnlyList<string> ReadNames(SettingsReader reader, string key, IReadOnlyList<string> defaultValue, IReadOnlyList<string> known)
    {
        var raw = reader.GetString(key);
        if (raw is null)
        {
            return defaultValue;
        }

        var result = new List<string>();
        var unknown = new List<string>();
        foreach (var part in raw.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part.ToLowerInvariant();
            if (!known.Contains(name))
            {
                unknown.Add(part);
            }
            else if (!result.Contains(name))
            {
                result.Add(name);
            }
        }

        // "none" alone means none; beside other names it is ignored.
        if (result.Count > 1)
        {
            result.Remove("none");
        }

        var used = result.Count == 0 ? defaultValue : result;
        if (unknown.Count > 0 || result.Count == 0)
        {
            reader.Invalid(key, raw, $"names unknown values ({string.Join(", ", unknown)}; known: {string.Join(", ", known)})", string.Join(",", used));
        }

        return used;
    }

    // An out parameter, not a (string, double) tuple: that generic instantiation has no
    // precompiled code, and would be JIT-compiled at every start.
    private static string ReadSampler(SettingsReader reader, out double ratio)
    {
        var sampler = "parentbased_always_on";
        var raw = reader.GetString(ConfigurationKeys.TracesSampler);
        if (raw is not null)
        {
            var name = raw.ToLowerInvariant();
            if (KnownSamplers.Contains(name))
            {
                sampler = name;
            }
            else
            {
                reader.Invalid(ConfigurationKeys.TracesSampler, raw, $"is not a supported sampler ({string.Join(", ", KnownSamplers)})", sampler);
            }
        }

        ratio = 1.0;
        if (sampler.EndsWith("traceidratio", StringComparison.Ordinal))
        {
            var rawArg = reader.GetString(ConfigurationKeys.TracesSamplerArg);
            if (rawArg is not null)
            {
                if (double.TryParse(rawArg, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed >= 0 && parsed <= 1)
                {
                    ratio = parsed;
                }
                else
                {
                    reader.Invalid(ConfigurationKeys.TracesSamplerArg, rawArg, "is not a number from 0 to 1", "1.0");
                }
            }
        }

        return sampler;
    }

    private static KafkaConsumerMode ReadKafkaMode(SettingsReader reader)
    {
        var raw = reader.GetString(ConfigurationKeys.KafkaConsumerMode);
        if (raw is null || string.Equals(raw, "parent", StringComparison.OrdinalIgnoreCase))
        {
            return KafkaConsumerMode.Parent;
        }

        if (string.Equals(raw, "link", StringComparison.OrdinalIgnoreCase))
        {
            return KafkaConsumerMode.Link;
        }

        reader.Invalid(ConfigurationKeys.KafkaConsumerMode, raw, "is not parent or link", "parent");
        return KafkaConsumerMode.Parent;
    }

    /// <summary>Parses a W3C-baggage-like list of key=value pairs with percent-encoded values.</summary>
    internal static List<KeyValuePair<string, string>> ParseKeyValueList(SettingsReader reader, string key, string raw, bool hideValues = false)
    {
        var result = new List<KeyValuePair<string, string>>();
        var bad = 0;
        foreach (var part in raw.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? part[..eq].Trim() : string.Empty;
            if (name.Length == 0)
            {
                bad++;
                continue;
            }

            string value;
            try
            {
                value = Uri.UnescapeDataString(part[(eq + 1)..].Trim());
            }
            catch (UriFormatException)
            {
                value = part[(eq + 1)..].Trim();
            }

            result.Add(new KeyValuePair<string, string>(name, value));
        }

        if (bad > 0)
        {
            reader.Invalid(key, hideValues ? "***" : raw, string.Create(CultureInfo.InvariantCulture, $"has {bad} entr{(bad == 1 ? "y" : "ies")} that {(bad == 1 ? "is" : "are")} not key=value"), result.Count == 0 ? "nothing" : "the other entries");
        }

        return result;
    }

    private static IReadOnlyList<KeyValuePair<string, string>> ParseResourceAttributes(SettingsReader reader)
    {
        var raw = reader.GetString(ConfigurationKeys.ResourceAttributes);
        return raw is null ? [] : ParseKeyValueList(reader, ConfigurationKeys.ResourceAttributes, raw);
    }
}
