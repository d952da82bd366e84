using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Instrumentation;

namespace TraceAgent.Tests.Configuration;

public sealed class AgentSettingsTests
{
    private static (AgentSettings Settings, IReadOnlyList<string> Warnings) Load(params (string Key, string Value)[] values)
    {
        var reader = new SettingsReader(values.ToDictionary(v => v.Key, v => v.Value));
        return (AgentSettings.Load(reader, InstrumentationRegistry.Ids), reader.Warnings);
    }

    [Fact]
    public void Defaults_follow_the_specification()
    {
        var (settings, warnings) = Load();
        Assert.Empty(warnings);
        Assert.Null(settings.ServiceName);
        Assert.Equal(["otlp"], settings.TracesExporters);
        Assert.Equal(new Uri("http://localhost:4318/v1/traces"), settings.Otlp.Endpoint);
        Assert.Equal(OtlpProtocol.HttpProtobuf, settings.Otlp.Protocol);
        Assert.Equal(10000, settings.Otlp.TimeoutMilliseconds);
        Assert.False(settings.Otlp.Gzip);
        Assert.Empty(settings.Otlp.Headers);
        Assert.Equal("parentbased_always_on", settings.Sampler);
        Assert.Equal(["tracecontext", "baggage"], settings.Propagators);
        Assert.Equal(new BatchSettings(5000, 30000, 2048, 512), settings.Batch);
        Assert.Equal(128, settings.Limits.AttributeCountLimit);
        Assert.Null(settings.Limits.AttributeValueLengthLimit);
        Assert.True(settings.IsInstrumentationEnabled("ASPNETCORE"));
        Assert.True(settings.TracesEnabled);
        Assert.Equal(new Uri("http://localhost:9411/api/v2/spans"), settings.ZipkinEndpoint);
        Assert.Equal(KafkaConsumerMode.Parent, settings.Kafka.ConsumerMode);
        Assert.True(settings.HttpClient.RedactQuery);
        Assert.True(settings.AspNetCore.RedactQuery);
        Assert.True(settings.Database.SanitizeQueryText);
        Assert.False(settings.Redis.CaptureKeys);
        Assert.Equal(["none"], settings.Logs.Exporters);
    }

    [Fact]
    public void Generic_endpoint_gets_the_signal_path_and_specific_endpoint_is_used_as_is()
    {
        Assert.Equal(new Uri("http://collector:4318/v1/traces"), Load((ConfigurationKeys.OtlpEndpoint, "http://collector:4318")).Settings.Otlp.Endpoint);
        Assert.Equal(new Uri("http://collector:4318/base/v1/traces"), Load((ConfigurationKeys.OtlpEndpoint, "http://collector:4318/base/")).Settings.Otlp.Endpoint);
        Assert.Equal(new Uri("http://c:1/custom"), Load((ConfigurationKeys.OtlpEndpoint, "http://x:2"), (ConfigurationKeys.OtlpTracesEndpoint, "http://c:1/custom")).Settings.Otlp.Endpoint);
        Assert.Equal(new Uri("http://collector:4317"), Load((ConfigurationKeys.OtlpEndpoint, "http://collector:4317"), (ConfigurationKeys.OtlpProtocol, "grpc")).Settings.Otlp.Endpoint);
        Assert.Equal(new Uri("http://localhost:4317"), Load((ConfigurationKeys.OtlpProtocol, "grpc")).Settings.Otlp.Endpoint);
    }

    [Fact]
    public void Signal_specific_values_override_generic_ones()
    {
        var (settings, warnings) = Load(
            (ConfigurationKeys.OtlpProtocol, "http/protobuf"),
            (ConfigurationKeys.OtlpTracesProtocol, "grpc"),
            (ConfigurationKeys.OtlpTimeout, "100"),
            (ConfigurationKeys.OtlpTracesTimeout, "200"),
            (ConfigurationKeys.OtlpCompression, "none"),
            (ConfigurationKeys.OtlpTracesCompression, "gzip"),
            (ConfigurationKeys.OtlpHeaders, "a=1"),
            (ConfigurationKeys.OtlpTracesHeaders, "b=2"));
        Assert.Empty(warnings);
        Assert.Equal(OtlpProtocol.Grpc, settings.Otlp.Protocol);
        Assert.Equal(200, settings.Otlp.TimeoutMilliseconds);
        Assert.True(settings.Otlp.Gzip);
        Assert.Equal([new KeyValuePair<string, string>("b", "2")], settings.Otlp.Headers);
    }

    [Fact]
    public void Headers_are_percent_decoded_and_bad_entries_are_named_without_their_value()
    {
        var (settings, warnings) = Load((ConfigurationKeys.OtlpHeaders, "api-key=se%20cret, x-team = blue ,broken,bad header=topsecret"));
        Assert.Equal(
            [new KeyValuePair<string, string>("api-key", "se cret"), new KeyValuePair<string, string>("x-team", "blue")],
            settings.Otlp.Headers);
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Contains(ConfigurationKeys.OtlpHeaders, w, StringComparison.Ordinal));
        Assert.All(warnings, w => Assert.DoesNotContain("topsecret", w, StringComparison.Ordinal));
    }

    [Fact]
    public void Resource_attributes_are_percent_decoded()
    {
        var (settings, warnings) = Load((ConfigurationKeys.ResourceAttributes, "deployment.environment.name=prod,team=a%2Cb,note=caf%C3%A9,=x"));
        Assert.Equal(
            [
                new KeyValuePair<string, string>("deployment.environment.name", "prod"),
                new KeyValuePair<string, string>("team", "a,b"),
                new KeyValuePair<string, string>("note", "café"),
            ],
            settings.ResourceAttributes);
        Assert.Single(warnings);
    }

    public static TheoryData<string, string, string> InvalidValues => new()
    {
        { ConfigurationKeys.BspMaxQueueSize, "abc", "2048" },
        { ConfigurationKeys.BspMaxQueueSize, "-5", "2048" },
        { ConfigurationKeys.BspScheduleDelay, "1.5", "5000" },
        { ConfigurationKeys.BspExportTimeout, "0", "30000" },
        { ConfigurationKeys.BspMaxExportBatchSize, "x", "512" },
        { ConfigurationKeys.OtlpTimeout, "ten", "10000" },
        { ConfigurationKeys.OtlpProtocol, "http/json", "http/protobuf" },
        { ConfigurationKeys.OtlpCompression, "zstd", "none" },
        { ConfigurationKeys.OtlpEndpoint, "not a url", "http://localhost:4318/" },
        { ConfigurationKeys.OtlpEndpoint, "ftp://collector", "http://localhost:4318/" },
        { ConfigurationKeys.ZipkinEndpoint, "::", "http://localhost:9411/api/v2/spans" },
        { ConfigurationKeys.TracesSampler, "sometimes", "parentbased_always_on" },
        { ConfigurationKeys.TracesExporter, "jaeger", "otlp" },
        { ConfigurationKeys.Propagators, "xray", "tracecontext,baggage" },
        { ConfigurationKeys.LogLevel, "loud", "info" },
        { ConfigurationKeys.FailFast, "1", "false" },
        { ConfigurationKeys.TracesInstrumentationEnabled, "on", "true" },
        { ConfigurationKeys.AttributeCountLimit, "many", "128" },
        { ConfigurationKeys.AttributeValueLengthLimit, "-1", "no limit" },
        { ConfigurationKeys.SpanEventCountLimit, "x", "128" },
        { ConfigurationKeys.SpanLinkCountLimit, "x", "128" },
        { ConfigurationKeys.KafkaConsumerMode, "both", "parent" },
        { ConfigurationKeys.RedisCaptureKeys, "maybe", "false" },
        { ConfigurationKeys.DbQueryTextEnabled, "nope", "true" },
        { ConfigurationKeys.AspNetCoreDisableQueryRedaction, "2", "false" },
        { ConfigurationKeys.LogsExporter, "zipkin", "none" },
        { ConfigurationKeys.TracesSamplerArg, "1.5", "1.0" },
        { ConfigurationKeys.BlrpScheduleDelay, "x", "1000" },
        { ConfigurationKeys.BlrpExportTimeout, "0", "30000" },
        { ConfigurationKeys.BlrpMaxQueueSize, "-1", "2048" },
        { ConfigurationKeys.BlrpMaxExportBatchSize, "x", "512" },
        { ConfigurationKeys.SpanAttributeCountLimit, "x", "128" },
        { ConfigurationKeys.SpanAttributeValueLengthLimit, "x", "no limit" },
        { ConfigurationKeys.EventAttributeCountLimit, "x", "128" },
        { ConfigurationKeys.LinkAttributeCountLimit, "x", "128" },
        { ConfigurationKeys.OtlpTracesProtocol, "http/json", "http/protobuf" },
        { ConfigurationKeys.OtlpTracesTimeout, "x", "10000" },
        { ConfigurationKeys.OtlpTracesCompression, "zstd", "none" },
        { ConfigurationKeys.OtlpLogsProtocol, "http/json", "http/protobuf" },
        { ConfigurationKeys.OtlpLogsTimeout, "x", "10000" },
        { ConfigurationKeys.OtlpLogsCompression, "zstd", "none" },
        { ConfigurationKeys.TracesEnabled, "yes", "true" },
        { ConfigurationKeys.LogsEnabled, "yes", "true" },
        { ConfigurationKeys.LogsIncludeFormattedMessage, "1", "false" },
        { ConfigurationKeys.HttpDisableQueryRedaction, "2", "false" },
        { ConfigurationKeys.DbQuerySanitizationEnabled, "nah", "true" },
        { ConfigurationKeys.SamplerKeepErrors, "maybe", "false" },
        { ConfigurationKeys.SamplerKeepMaxBufferedSpans, "many", "8192" },
    };

    [Theory]
    [MemberData(nameof(InvalidValues))]
    public void An_invalid_value_logs_one_line_naming_the_variable_and_the_value_used(string key, string value, string usedInstead)
    {
        var sampler = key == ConfigurationKeys.TracesSamplerArg ? [(ConfigurationKeys.TracesSampler, "traceidratio")] : Array.Empty<(string, string)>();
        var (_, warnings) = Load([(key, value), .. sampler]);
        var line = Assert.Single(warnings, w => w.StartsWith(key + "=", StringComparison.Ordinal));
        Assert.Contains("'" + value + "'", line, StringComparison.Ordinal);
        Assert.EndsWith("using " + usedInstead, line, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampler_arg_is_read_for_ratio_samplers_only()
    {
        var (settings, warnings) = Load((ConfigurationKeys.TracesSampler, "parentbased_traceidratio"), (ConfigurationKeys.TracesSamplerArg, "0.25"));
        Assert.Empty(warnings);
        Assert.Equal(0.25, settings.SamplerRatio);

        var (bad, badWarnings) = Load((ConfigurationKeys.TracesSampler, "traceidratio"), (ConfigurationKeys.TracesSamplerArg, "1.5"));
        Assert.Equal(1.0, bad.SamplerRatio);
        Assert.Contains(badWarnings, w => w.StartsWith(ConfigurationKeys.TracesSamplerArg + "='1.5'", StringComparison.Ordinal));

        var (ignored, ignoredWarnings) = Load((ConfigurationKeys.TracesSampler, "always_on"), (ConfigurationKeys.TracesSamplerArg, "junk"));
        Assert.Empty(ignoredWarnings);
        Assert.Equal("always_on", ignored.Sampler);
    }

    [Fact]
    public void Lists_keep_order_drop_duplicates_and_unknown_names_and_none_alone_means_none()
    {
        Assert.Equal(["b3", "tracecontext"], Load((ConfigurationKeys.Propagators, " b3 , tracecontext,b3")).Settings.Propagators);
        Assert.Equal(["none"], Load((ConfigurationKeys.TracesExporter, "none")).Settings.TracesExporters);
        Assert.Equal(["console"], Load((ConfigurationKeys.TracesExporter, "none,console")).Settings.TracesExporters);
        var (settings, warnings) = Load((ConfigurationKeys.TracesExporter, "otlp,jaeger,zipkin"));
        Assert.Equal(["otlp", "zipkin"], settings.TracesExporters);
        Assert.Single(warnings);
    }

    [Fact]
    public void Batch_size_larger_than_queue_is_capped()
    {
        var (settings, warnings) = Load((ConfigurationKeys.BspMaxQueueSize, "100"), (ConfigurationKeys.BspMaxExportBatchSize, "500"));
        Assert.Equal(100, settings.Batch.MaxExportBatchSize);
        Assert.Single(warnings);
    }

    [Fact]
    public void Instrumentation_switches_override_the_default()
    {
        var (settings, _) = Load(
            (ConfigurationKeys.TracesInstrumentationEnabled, "false"),
            (ConfigurationKeys.InstrumentationEnabled("HTTPCLIENT"), "true"));
        Assert.True(settings.IsInstrumentationEnabled("HTTPCLIENT"));
        Assert.False(settings.IsInstrumentationEnabled("ASPNETCORE"));

        var (one, _) = Load((ConfigurationKeys.InstrumentationEnabled("NPGSQL"), "false"));
        Assert.False(one.IsInstrumentationEnabled("NPGSQL"));
        Assert.True(one.IsInstrumentationEnabled("KAFKA"));
    }

    [Fact]
    public void Values_are_parsed_with_the_invariant_culture()
    {
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            var (settings, warnings) = Load((ConfigurationKeys.TracesSampler, "traceidratio"), (ConfigurationKeys.TracesSamplerArg, "0.5"));
            Assert.Empty(warnings);
            Assert.Equal(0.5, settings.SamplerRatio);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void A_long_value_with_control_characters_is_logged_on_one_short_line()
    {
        var (_, warnings) = Load((ConfigurationKeys.BspMaxQueueSize, "1\n2" + new string('x', 500)));
        var line = Assert.Single(warnings);
        Assert.DoesNotContain('\n', line);
        Assert.True(line.Length < 400);
    }

    [Fact]
    public void Http_and_messaging_options_are_read()
    {
        var (settings, warnings) = Load(
            (ConfigurationKeys.AspNetCoreCaptureRequestHeaders, "X-Request-Id, X-Tenant"),
            (ConfigurationKeys.HttpCaptureResponseHeaders, "Server"),
            (ConfigurationKeys.AspNetCoreExcludedPaths, "/health*,/metrics"),
            (ConfigurationKeys.HttpClientExcludedUrls, "*/internal/*"),
            (ConfigurationKeys.HttpDisableQueryRedaction, "true"),
            (ConfigurationKeys.KafkaConsumerMode, "link"),
            (ConfigurationKeys.KafkaExcludedTopics, "audit.*"),
            (ConfigurationKeys.RedisCaptureKeys, "true"),
            (ConfigurationKeys.DbQuerySanitizationEnabled, "false"),
            (ConfigurationKeys.TracesAdditionalSources, "My.Source, Other.*"));
        Assert.Empty(warnings);
        Assert.Equal(["X-Request-Id", "X-Tenant"], settings.AspNetCore.RequestHeaders);
        Assert.Equal(["Server"], settings.HttpClient.ResponseHeaders);
        Assert.Equal(["/health*", "/metrics"], settings.AspNetCore.ExcludedPaths);
        Assert.Equal(["*/internal/*"], settings.HttpClient.ExcludedUrls);
        Assert.False(settings.HttpClient.RedactQuery);
        Assert.True(settings.AspNetCore.RedactQuery);
        Assert.Equal(KafkaConsumerMode.Link, settings.Kafka.ConsumerMode);
        Assert.Equal(["audit.*"], settings.Kafka.ExcludedTopics);
        Assert.True(settings.Redis.CaptureKeys);
        Assert.False(settings.Database.SanitizeQueryText);
        Assert.Equal(["My.Source", "Other.*"], settings.AdditionalSources);
    }

    [Theory]
    [InlineData("debug", AgentLogLevel.Debug)]
    [InlineData(" WARN ", AgentLogLevel.Warning)]
    [InlineData("warning", AgentLogLevel.Warning)]
    [InlineData("off", AgentLogLevel.None)]
    [InlineData("none", AgentLogLevel.None)]
    [InlineData("error", AgentLogLevel.Error)]
    public void The_log_level_and_directory_are_settings_like_the_others(string value, AgentLogLevel expected)
    {
        var (settings, warnings) = Load((ConfigurationKeys.LogLevel, value), (ConfigurationKeys.LogDirectory, "/tmp/agent-logs"));
        Assert.Empty(warnings);
        Assert.Equal(expected, settings.LogLevel);
        Assert.Equal("/tmp/agent-logs", settings.LogDirectory);
        Assert.Equal(AgentLogLevel.Info, Load().Settings.LogLevel);
        Assert.Null(Load().Settings.LogDirectory);
    }

    [Fact]
    public void Each_signal_reads_its_own_TLS_files_before_the_generic_ones()
    {
        var (settings, warnings) = Load(
            (ConfigurationKeys.OtlpEndpoint, "https://collector:4318"),
            (ConfigurationKeys.OtlpCertificate, "/ca.pem"),
            (ConfigurationKeys.OtlpSignal("METRICS", "CERTIFICATE"), "/metrics-ca.pem"),
            (ConfigurationKeys.OtlpSignal("METRICS", "CLIENT_CERTIFICATE"), "/metrics-client.pem"),
            (ConfigurationKeys.OtlpSignal("LOGS", "CLIENT_KEY"), "/logs-key.pem"));
        Assert.Empty(warnings);
        Assert.Equal(new OtlpTlsSettings("/metrics-ca.pem", "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "/metrics-client.pem", "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", null, null), settings.Metrics.Otlp.Tls);
        Assert.Equal(new OtlpTlsSettings("/ca.pem", "OTEL_EXPORTER_OTLP_CERTIFICATE", null, null, "/logs-key.pem", "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY"), settings.Logs.Otlp.Tls);
        Assert.Equal(new OtlpTlsSettings("/ca.pem", "OTEL_EXPORTER_OTLP_CERTIFICATE", null, null, null, null), settings.Otlp.Tls);
    }
}
