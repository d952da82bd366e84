namespace TraceAgent.Configuration;

/// <summary>
/// Every environment variable the agent reads. Names from the OpenTelemetry specification or the
/// OpenTelemetry .NET automatic instrumentation keep their meaning there, so the agent is a drop-in
/// replacement; names of the agent's own start with TRACEAGENT_. docs/configuration.md lists them all.
/// </summary>
public static class ConfigurationKeys
{
    // Read by the startup hook itself, before the core loads (with the same names as literals):
    // SdkDisabled, ExcludeProcesses, FailFast and LogLevel decide whether and how loudly to start.
    public const string SdkDisabled = "OTEL_SDK_DISABLED";
    public const string ServiceName = "OTEL_SERVICE_NAME";
    public const string ResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES";
    public const string TracesExporter = "OTEL_TRACES_EXPORTER";
    public const string LogsExporter = "OTEL_LOGS_EXPORTER";

    public const string OtlpEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string OtlpTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    public const string OtlpLogsEndpoint = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
    public const string OtlpProtocol = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string OtlpTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
    public const string OtlpLogsProtocol = "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL";
    public const string OtlpHeaders = "OTEL_EXPORTER_OTLP_HEADERS";
    public const string OtlpTracesHeaders = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
    public const string OtlpLogsHeaders = "OTEL_EXPORTER_OTLP_LOGS_HEADERS";
    public const string OtlpTimeout = "OTEL_EXPORTER_OTLP_TIMEOUT";
    public const string OtlpTracesTimeout = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
    public const string OtlpLogsTimeout = "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT";
    public const string OtlpCompression = "OTEL_EXPORTER_OTLP_COMPRESSION";
    public const string OtlpTracesCompression = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
    public const string OtlpLogsCompression = "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION";
    public const string OtlpCertificate = "OTEL_EXPORTER_OTLP_CERTIFICATE";
    public const string OtlpClientCertificate = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
    public const string OtlpClientKey = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
    public const string ZipkinEndpoint = "OTEL_EXPORTER_ZIPKIN_ENDPOINT";

    public const string TracesSampler = "OTEL_TRACES_SAMPLER";
    public const string TracesSamplerArg = "OTEL_TRACES_SAMPLER_ARG";
    public const string Propagators = "OTEL_PROPAGATORS";

    public const string BspScheduleDelay = "OTEL_BSP_SCHEDULE_DELAY";
    public const string BspExportTimeout = "OTEL_BSP_EXPORT_TIMEOUT";
    public const string BspMaxQueueSize = "OTEL_BSP_MAX_QUEUE_SIZE";
    public const string BspMaxExportBatchSize = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";

    public const string BlrpScheduleDelay = "OTEL_BLRP_SCHEDULE_DELAY";
    public const string BlrpExportTimeout = "OTEL_BLRP_EXPORT_TIMEOUT";
    public const string BlrpMaxQueueSize = "OTEL_BLRP_MAX_QUEUE_SIZE";
    public const string BlrpMaxExportBatchSize = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE";

    public const string AttributeValueLengthLimit = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
    public const string AttributeCountLimit = "OTEL_ATTRIBUTE_COUNT_LIMIT";
    public const string SpanAttributeValueLengthLimit = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
    public const string SpanAttributeCountLimit = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
    public const string SpanEventCountLimit = "OTEL_SPAN_EVENT_COUNT_LIMIT";
    public const string SpanLinkCountLimit = "OTEL_SPAN_LINK_COUNT_LIMIT";
    public const string EventAttributeCountLimit = "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT";
    public const string LinkAttributeCountLimit = "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT";

    public const string LogLevel = "OTEL_LOG_LEVEL";
    public const string LogDirectory = "OTEL_DOTNET_AUTO_LOG_DIRECTORY";
    public const string FailFast = "OTEL_DOTNET_AUTO_FAIL_FAST_ENABLED";
    public const string ExcludeProcesses = "OTEL_DOTNET_AUTO_EXCLUDE_PROCESSES";
    public const string TracesEnabled = "OTEL_DOTNET_AUTO_TRACES_ENABLED";
    public const string TracesInstrumentationEnabled = "OTEL_DOTNET_AUTO_TRACES_INSTRUMENTATION_ENABLED";
    public const string TracesAdditionalSources = "OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES";
    public const string LogsEnabled = "OTEL_DOTNET_AUTO_LOGS_ENABLED";
    public const string LogsInstrumentationEnabled = "OTEL_DOTNET_AUTO_LOGS_INSTRUMENTATION_ENABLED";
    public const string LogsIncludeFormattedMessage = "OTEL_DOTNET_AUTO_LOGS_INCLUDE_FORMATTED_MESSAGE";

    public const string AspNetCoreCaptureRequestHeaders = "OTEL_DOTNET_AUTO_TRACES_ASPNETCORE_INSTRUMENTATION_CAPTURE_REQUEST_HEADERS";
    public const string AspNetCoreCaptureResponseHeaders = "OTEL_DOTNET_AUTO_TRACES_ASPNETCORE_INSTRUMENTATION_CAPTURE_RESPONSE_HEADERS";
    public const string HttpCaptureRequestHeaders = "OTEL_DOTNET_AUTO_TRACES_HTTP_INSTRUMENTATION_CAPTURE_REQUEST_HEADERS";
    public const string HttpCaptureResponseHeaders = "OTEL_DOTNET_AUTO_TRACES_HTTP_INSTRUMENTATION_CAPTURE_RESPONSE_HEADERS";
    public const string AspNetCoreDisableQueryRedaction = "OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION";
    public const string HttpDisableQueryRedaction = "OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION";
    public const string AspNetCoreExcludedPaths = "TRACEAGENT_ASPNETCORE_EXCLUDED_PATHS";
    public const string HttpClientExcludedUrls = "TRACEAGENT_HTTPCLIENT_EXCLUDED_URLS";

    public const string DbQueryTextEnabled = "TRACEAGENT_DB_QUERY_TEXT_ENABLED";
    public const string DbQuerySanitizationEnabled = "TRACEAGENT_DB_QUERY_SANITIZATION_ENABLED";
    public const string RedisCaptureKeys = "TRACEAGENT_REDIS_CAPTURE_KEYS";
    public const string KafkaConsumerMode = "TRACEAGENT_KAFKA_CONSUMER_MODE";
    public const string KafkaExcludedTopics = "TRACEAGENT_KAFKA_EXCLUDED_TOPICS";

    public const string SamplerMaxTracesPerSecond = "TRACEAGENT_SAMPLER_MAX_TRACES_PER_SECOND";
    public const string SamplerRules = "TRACEAGENT_SAMPLER_RULES";
    public const string SamplerKeepErrors = "TRACEAGENT_SAMPLER_KEEP_ERRORS";
    public const string SamplerKeepSlowerThanMs = "TRACEAGENT_SAMPLER_KEEP_SLOWER_THAN_MS";
    public const string SamplerKeepMaxBufferedSpans = "TRACEAGENT_SAMPLER_KEEP_MAX_BUFFERED_SPANS";

    // Metrics (docs/metrics.md).
    public const string MetricsExporter = "OTEL_METRICS_EXPORTER";
    public const string MetricExportInterval = "OTEL_METRIC_EXPORT_INTERVAL";
    public const string MetricExportTimeout = "OTEL_METRIC_EXPORT_TIMEOUT";
    public const string MetricsExemplarFilter = "OTEL_METRICS_EXEMPLAR_FILTER";
    public const string OtlpMetricsEndpoint = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
    public const string OtlpMetricsProtocol = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
    public const string OtlpMetricsHeaders = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
    public const string OtlpMetricsTimeout = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
    public const string OtlpMetricsCompression = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION";
    public const string OtlpMetricsTemporality = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
    public const string MetricsEnabled = "OTEL_DOTNET_AUTO_METRICS_ENABLED";
    public const string MetricsInstrumentationEnabled = "OTEL_DOTNET_AUTO_METRICS_INSTRUMENTATION_ENABLED";
    public const string MetricsAdditionalSources = "OTEL_DOTNET_AUTO_METRICS_ADDITIONAL_SOURCES";
    public const string MetricsCardinalityLimit = "TRACEAGENT_METRICS_CARDINALITY_LIMIT";

    public static string MetricsInstrumentationSwitch(string id) => $"OTEL_DOTNET_AUTO_METRICS_{id}_INSTRUMENTATION_ENABLED";

    /// <summary>A signal's own OTLP exporter variable: OTEL_EXPORTER_OTLP_{TRACES|LOGS|METRICS}_{ENDPOINT|PROTOCOL|...}.</summary>
    public static string OtlpSignal(string signal, string name) => $"OTEL_EXPORTER_OTLP_{signal}_{name}";

    public static string InstrumentationEnabled(string id) => $"OTEL_DOTNET_AUTO_TRACES_{id}_INSTRUMENTATION_ENABLED";

    public static string LogsInstrumentationSwitch(string id) => $"OTEL_DOTNET_AUTO_LOGS_{id}_INSTRUMENTATION_ENABLED";
}
