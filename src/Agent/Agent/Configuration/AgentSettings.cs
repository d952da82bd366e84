using System.Globalization;
using TraceAgent.Diagnostics;

namespace TraceAgent.Configuration;

public enum OtlpProtocol
{
    HttpProtobuf,
    Grpc,
}

public enum KafkaConsumerMode
{
    Parent,
    Link,
}

public sealed record OtlpExporterSettings(
    Uri Endpoint,
    OtlpProtocol Protocol,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    int TimeoutMilliseconds,
    bool Gzip,
    OtlpTlsSettings? Tls = null);

/// <summary>
/// PEM files for an OTLP exporter's TLS (OTEL_EXPORTER_OTLP_[SIGNAL_]CERTIFICATE, CLIENT_CERTIFICATE,
/// CLIENT_KEY), with the variable each path came from, so a file that cannot be used is reported by
/// name. The files are read when the exporter is made, not here.
/// </summary>
public sealed record OtlpTlsSettings(
    string? CertificateFile,
    string? CertificateVariable,
    string? ClientCertificateFile,
    string? ClientCertificateVariable,
    string? ClientKeyFile,
    string? ClientKeyVariable)
{
    public bool IsEmpty => CertificateFile is null && ClientCertificateFile is null && ClientKeyFile is null;
}

public sealed record BatchSettings(int ScheduleDelayMilliseconds, int ExportTimeoutMilliseconds, int MaxQueueSize, int MaxExportBatchSize);

public sealed record SpanLimits(int AttributeCountLimit, int? AttributeValueLengthLimit, int EventCountLimit, int LinkCountLimit, int EventAttributeCountLimit, int LinkAttributeCountLimit);

public sealed record HttpSettings(
    IReadOnlyList<string> ServerRequestHeaders,
    IReadOnlyList<string> ServerResponseHeaders,
    IReadOnlyList<string> ClientRequestHeaders,
    IReadOnlyList<string> ClientResponseHeaders,
    bool RedactServerQuery,
    bool RedactClientQuery,
    IReadOnlyList<string> ExcludedServerPaths,
    IReadOnlyList<string> ExcludedClientUrls);

public sealed record DatabaseSettings(bool QueryTextEnabled, bool SanitizeQueryText);

public sealed record RedisSettings(bool CaptureKeys);

public sealed record KafkaSettings(KafkaConsumerMode ConsumerMode, IReadOnlyList<string> ExcludedTopics);

public sealed record LogsSettings(bool Enabled, IReadOnlyList<string> Exporters, bool IncludeFormattedMessage, OtlpExporterSettings Otlp);

/// <summary>Everything the agent is told by its environment, parsed once at start-up.</summary>
public sealed partial class AgentSettings
{
    public static readonly string[] KnownExporters = ["otlp", "console", "zipkin", "none"];
    public static readonly string[] KnownPropagators = ["tracecontext", "baggage", "b3", "b3multi", "none"];
    public static readonly string[] KnownSamplers =
        ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];

    private AgentSettings()
    {
    }

    public string? ServiceName { get; private init; }

    public IReadOnlyList<KeyValuePair<string, string>> ResourceAttributes { get; private init; } = [];

    public bool TracesEnabled { get; private init; }

    public IReadOnlyList<string> TracesExporters { get; private init; } = [];

    public OtlpExporterSettings Otlp { get; private init; } = null!;

    public Uri ZipkinEndpoint { get; private init; } = null!;

    public string Sampler { get; private init; } = "parentbased_always_on";

    public double SamplerRatio { get; private init; } = 1.0;

    public SamplingPolicySettings SamplingPolicies { get; private init; } = SamplingPolicySettings.None;

    public IReadOnlyList<string> Propagators { get; private init; } = [];

    public BatchSettings Batch { get; private init; } = null!;

    /// <summary>The batch log record processor's settings (OTEL_BLRP_*).</summary>
    public BatchSettings LogsBatch { get; private init; } = null!;

    public SpanLimits Limits { get; private init; } = null!;

    public AgentLogLevel LogLevel { get; private init; }

    public string? LogDirectory { get; private init; }

    public bool FailFast { get; private init; }

    public IReadOnlyList<string> AdditionalSources { get; private init; } = [];

    public HttpSettings Http { get; private init; } = null!;

    public DatabaseSettings Database { get; private init; } = null!;

    public RedisSettings Redis { get; private init; } = null!;

    public KafkaSettings Kafka { get; private init; } = null!;

    public LogsSettings Logs { get; private init; } = null!;

    public bool AllowAppOpenTelemetry { get; private init; }

    private bool InstrumentationDefault { get; init; }

    private IReadOnlyDictionary<string, bool> InstrumentationSwitches { get; init; } = new Dictionary<string, bool>();

    private bool LogsInstrumentationDefault { get; init; }

    private IReadOnlyDictionary<string, bool> LogsInstrumentationSwitches { get; init; } = new Dictionary<string, bool>();

    public bool IsInstrumentationEnabled(string id) =>
        InstrumentationSwitches.TryGetValue(id, out var enabled) ? enabled : InstrumentationDefault;

    /// <summary>A logs instrumentation's switch; every one is off when OTEL_DOTNET_AUTO_LOGS_ENABLED=false.</summary>
    public bool IsLogsInstrumentationEnabled(string id) =>
        Logs.Enabled && (LogsInstrumentationSwitches.TryGetValue(id, out var enabled) ? enabled : LogsInstrumentationDefault);

    public static AgentSettings Load(SettingsReader reader, IEnumerable<string> instrumentationIds, IEnumerable<string>? logsInstrumentationIds = null)
    {
        var traceOtlp = ReadOtlp(reader, "TRACES", "/v1/traces");
        var logsOtlp = ReadOtlp(reader, "LOGS", "/v1/logs");

        var instrumentationDefault = reader.GetBool(ConfigurationKeys.TracesInstrumentationEnabled, true);
        var switches = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var id in instrumentationIds)
        {
            var key = ConfigurationKeys.InstrumentationEnabled(id);
            if (reader.GetString(key) is not null)
            {
                switches[id] = reader.GetBool(key, instrumentationDefault);
            }
        }

        var logsDefault = reader.GetBool(ConfigurationKeys.LogsInstrumentationEnabled, true);
        var logsSwitches = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var id in logsInstrumentationIds ?? [])
        {
            var key = ConfigurationKeys.LogsInstrumentationSwitch(id);
            if (reader.GetString(key) is not null)
            {
                logsSwitches[id] = reader.GetBool(key, logsDefault);
            }
        }

        var (sampler, ratio) = ReadSampler(reader);
        var attributeCount = reader.GetInt(ConfigurationKeys.AttributeCountLimit, 128, 0);
        var attributeLength = reader.GetOptionalInt(ConfigurationKeys.AttributeValueLengthLimit, 0);

        return new AgentSettings
        {
            ServiceName = reader.GetString(ConfigurationKeys.ServiceName),
            ResourceAttributes = ParseResourceAttributes(reader),
            TracesEnabled = reader.GetBool(ConfigurationKeys.TracesEnabled, true),
            TracesExporters = ReadNames(reader, ConfigurationKeys.TracesExporter, ["otlp"], KnownExporters),
            Otlp = traceOtlp,
            ZipkinEndpoint = ReadUri(reader, ConfigurationKeys.ZipkinEndpoint, new Uri("http://localhost:9411/api/v2/spans")),
            Sampler = sampler,
            SamplerRatio = ratio,
            SamplingPolicies = SamplingPolicySettings.Read(reader),
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
            LogLevel = ReadLogLevel(reader),
            LogDirectory = reader.GetString(ConfigurationKeys.LogDirectory),
            FailFast = reader.GetBool(ConfigurationKeys.FailFast, false),
            AdditionalSources = reader.GetList(ConfigurationKeys.TracesAdditionalSources, []),
            InstrumentationDefault = instrumentationDefault,
            InstrumentationSwitches = switches,
            LogsInstrumentationDefault = logsDefault,
            LogsInstrumentationSwitches = logsSwitches,
            Http = new HttpSettings(
                reader.GetList(ConfigurationKeys.AspNetCoreCaptureRequestHeaders, []),
                reader.GetList(ConfigurationKeys.AspNetCoreCaptureResponseHeaders, []),
                reader.GetList(ConfigurationKeys.HttpCaptureRequestHeaders, []),
                reader.GetList(ConfigurationKeys.HttpCaptureResponseHeaders, []),
                !reader.GetBool(ConfigurationKeys.AspNetCoreDisableQueryRedaction, false),
                !reader.GetBool(ConfigurationKeys.HttpDisableQueryRedaction, false),
                reader.GetList(ConfigurationKeys.AspNetCoreExcludedPaths, []),
                reader.GetList(ConfigurationKeys.HttpClientExcludedUrls, [])),
            Database = new DatabaseSettings(
                reader.GetBool(ConfigurationKeys.DbQueryTextEnabled, true),
                reader.GetBool(ConfigurationKeys.DbQuerySanitizationEnabled, true)),
            Redis = new RedisSettings(reader.GetBool(ConfigurationKeys.RedisCaptureKeys, false)),
            Kafka = new KafkaSettings(ReadKafkaMode(reader), reader.GetList(ConfigurationKeys.KafkaExcludedTopics, [])),
            Logs = new LogsSettings(
                reader.GetBool(ConfigurationKeys.LogsEnabled, true),
                ReadNames(reader, ConfigurationKeys.LogsExporter, ["none"], ["otlp", "console", "none"]),
                reader.GetBool(ConfigurationKeys.LogsIncludeFormattedMessage, false),
                logsOtlp),
            AllowAppOpenTelemetry = reader.GetBool(ConfigurationKeys.AllowAppOpenTelemetry, false),
            Metrics = ReadMetrics(reader),
        };
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

    /// <summary>
    /// One signal's OTLP exporter settings: OTEL_EXPORTER_OTLP_{SIGNAL}_* where set, the generic
    /// OTEL_EXPORTER_OTLP_* otherwise. <paramref name="signal"/> is TRACES, LOGS (or METRICS), and
    /// <paramref name="path"/> what OTLP/HTTP appends to a generic endpoint (/v1/traces...).
    /// </summary>
    public static OtlpExporterSettings ReadOtlp(SettingsReader reader, string signal, string path)
    {
        var endpointKey = ConfigurationKeys.OtlpSignal(signal, "ENDPOINT");
        var protocolKey = ConfigurationKeys.OtlpSignal(signal, "PROTOCOL");
        var headersKey = ConfigurationKeys.OtlpSignal(signal, "HEADERS");
        var timeoutKey = ConfigurationKeys.OtlpSignal(signal, "TIMEOUT");
        var compressionKey = ConfigurationKeys.OtlpSignal(signal, "COMPRESSION");

        // Each key is read (and, if invalid, reported) once per process: the generic keys serve
        // both signals, so a signal only reads its own key when that is set.
        var protocol = reader.GetString(protocolKey) is not null ? ReadProtocol(reader, protocolKey) : GenericOtlp(reader).Protocol;
        Uri endpoint;
        if (reader.GetString(endpointKey) is not null)
        {
            // A signal-specific endpoint is used exactly as given (OTLP exporter specification).
            endpoint = ReadUri(reader, endpointKey, DefaultEndpoint(protocol, path));
        }
        else if (GenericOtlp(reader).Endpoint is { } baseUri)
        {
            endpoint = protocol == OtlpProtocol.Grpc ? baseUri : AppendPath(baseUri, path);
        }
        else
        {
            endpoint = DefaultEndpoint(protocol, path);
        }

        return new OtlpExporterSettings(
            endpoint,
            protocol,
            reader.GetString(headersKey) is not null ? ParseHeaders(reader, headersKey) : GenericOtlp(reader).Headers,
            reader.GetString(timeoutKey) is not null ? reader.GetInt(timeoutKey, 10000, 1) : GenericOtlp(reader).Timeout,
            reader.GetString(compressionKey) is not null ? ReadGzip(reader, compressionKey) : GenericOtlp(reader).Gzip,
            ReadTls(reader, signal));
    }

    private static OtlpTlsSettings? ReadTls(SettingsReader reader, string signal)
    {
        (string? File, string? Variable) Path(string generic, string suffix)
        {
            var specific = ConfigurationKeys.OtlpSignal(signal, suffix);
            var value = reader.GetString(specific);
            if (value is not null)
            {
                return (value, specific);
            }

            value = reader.GetString(generic);
            return value is null ? (null, null) : (value, generic);
        }

        var (ca, caVariable) = Path(ConfigurationKeys.OtlpCertificate, "CERTIFICATE");
        var (certificate, certificateVariable) = Path(ConfigurationKeys.OtlpClientCertificate, "CLIENT_CERTIFICATE");
        var (key, keyVariable) = Path(ConfigurationKeys.OtlpClientKey, "CLIENT_KEY");
        var tls = new OtlpTlsSettings(ca, caVariable, certificate, certificateVariable, key, keyVariable);
        return tls.IsEmpty ? null : tls;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SettingsReader, GenericOtlpValues> GenericValues = new();

    private sealed record GenericOtlpValues(OtlpProtocol Protocol, Uri? Endpoint, IReadOnlyList<KeyValuePair<string, string>> Headers, int Timeout, bool Gzip);

    private static GenericOtlpValues GenericOtlp(SettingsReader reader) => GenericValues.GetValue(reader, static r =>
    {
        var protocol = ReadProtocol(r, ConfigurationKeys.OtlpProtocol);
        var endpoint = r.GetString(ConfigurationKeys.OtlpEndpoint) is null ? null : ReadUri(r, ConfigurationKeys.OtlpEndpoint, DefaultEndpoint(protocol, string.Empty));
        return new GenericOtlpValues(
            protocol,
            endpoint,
            ParseHeaders(r, ConfigurationKeys.OtlpHeaders),
            r.GetInt(ConfigurationKeys.OtlpTimeout, 10000, 1),
            ReadGzip(r, ConfigurationKeys.OtlpCompression));
    });

    private static OtlpProtocol ReadProtocol(SettingsReader reader, string key)
    {
        var raw = reader.GetString(key);
        if (raw is null || string.Equals(raw, "http/protobuf", StringComparison.OrdinalIgnoreCase))
        {
            return OtlpProtocol.HttpProtobuf;
        }

        if (string.Equals(raw, "grpc", StringComparison.OrdinalIgnoreCase))
        {
            return OtlpProtocol.Grpc;
        }

        reader.Invalid(key, raw, "is not a supported protocol (http/protobuf, grpc)", "http/protobuf");
        return OtlpProtocol.HttpProtobuf;
    }

    private static bool ReadGzip(SettingsReader reader, string key)
    {
        var raw = reader.GetString(key);
        if (raw is null || string.Equals(raw, "none", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (string.Equals(raw, "gzip", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        reader.Invalid(key, raw, "is not gzip or none", "none");
        return false;
    }

    private static Uri DefaultEndpoint(OtlpProtocol protocol, string path) =>
        protocol == OtlpProtocol.Grpc ? new Uri("http://localhost:4317") : new Uri("http://localhost:4318" + path);

    private static Uri AppendPath(Uri baseUri, string path)
    {
        var text = baseUri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return new Uri(text + path + baseUri.Query);
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

        reader.Invalid(key, raw, "is not an absolute http or https URL", defaultValue.ToString());
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

    private static (string Sampler, double Ratio) ReadSampler(SettingsReader reader)
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

        var ratio = 1.0;
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

        return (sampler, ratio);
    }

    private static AgentLogLevel ReadLogLevel(SettingsReader reader)
    {
        var raw = reader.GetString(ConfigurationKeys.LogLevel);
        if (raw is null)
        {
            return AgentLogLevel.Info;
        }

        switch (raw.ToLowerInvariant())
        {
            case "none":
            case "off":
                return AgentLogLevel.None;
            case "error":
                return AgentLogLevel.Error;
            case "warn":
            case "warning":
                return AgentLogLevel.Warning;
            case "info":
                return AgentLogLevel.Info;
            case "debug":
                return AgentLogLevel.Debug;
            default:
                reader.Invalid(ConfigurationKeys.LogLevel, raw, "is not none, error, warn, info or debug", "info");
                return AgentLogLevel.Info;
        }
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

    private static IReadOnlyList<KeyValuePair<string, string>> ParseHeaders(SettingsReader reader, string key)
    {
        var raw = reader.GetString(key);
        if (raw is null)
        {
            return [];
        }

        // Header values are secrets more often than not: a bad entry is named by its key only.
        var result = new List<KeyValuePair<string, string>>();
        foreach (var pair in ParseKeyValueList(reader, key, raw, hideValues: true))
        {
            if (IsHeaderName(pair.Key) && !pair.Value.Any(char.IsControl))
            {
                result.Add(pair);
            }
            else
            {
                reader.Invalid(key, pair.Key + "=***", "has an entry that is not a valid HTTP header", "the other entries");
            }
        }

        return result;
    }

    private static bool IsHeaderName(string name)
    {
        foreach (var c in name)
        {
            if (c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return name.Length > 0;
    }

    private static IReadOnlyList<KeyValuePair<string, string>> ParseResourceAttributes(SettingsReader reader)
    {
        var raw = reader.GetString(ConfigurationKeys.ResourceAttributes);
        return raw is null ? [] : ParseKeyValueList(reader, ConfigurationKeys.ResourceAttributes, raw);
    }
}
