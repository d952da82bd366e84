using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Export.Transport;
using TraceAgent.Logs;
using TraceAgent.Metrics;

namespace TraceAgent.Loading;

/// <summary>
/// Makes the exporters the settings ask for (OTEL_TRACES_EXPORTER, OTEL_LOGS_EXPORTER; metrics use
/// <see cref="TryLoadTls"/> from their own pipeline), with the TLS material each OTLP exporter needs.
/// </summary>
internal static class ExporterFactory
{
    // TLS files are read once per set of paths: signals that share the generic variables share the
    // material, and a file that cannot be used is reported once, turning off every export that needs it.
    private static readonly Dictionary<OtlpTlsSettings, (ExportTls? Tls, string? Error)> TlsByFiles = [];

    /// <summary>
    /// The span processor and the exporters OTEL_TRACES_EXPORTER asks for (their descriptions for
    /// the start-up line). OTLP alone, the default, gets spans encoded as they end; any other set
    /// gets the spans' Activities.
    /// </summary>
    public static ISpanProcessor CreateSpanProcessor(AgentSettings settings, IReadOnlyList<KeyValuePair<string, object>> resource, string serviceName, AgentHealthMetrics? health, out List<string> descriptions)
    {
        var timeout = settings.Otlp.TimeoutMilliseconds;
        if (settings.TracesExporters is ["otlp"] && TryLoadTls(settings.Otlp, "traces", out var otlpTls))
        {
            var encoder = new OtlpTraceEncoder(resource, settings.Limits);
            List<IExporter<EncodedSpan>> encoded = [new OtlpExporter<EncodedSpan>(settings.Otlp, encoder.Encode, "traces", otlpTls)];
            descriptions = [encoded[0].Description];
            return new EncodingSpanProcessor(encoder, health?.Measure(encoded, "traces") ?? encoded, settings.Batch, timeout);
        }

        // (TLS files that cannot be used were reported once; asked again, the cache answers.)
        var exporters = new List<IExporter<Activity>>();
        foreach (var name in settings.TracesExporters)
        {
            switch (name)
            {
                case "otlp":
                    if (TryLoadTls(settings.Otlp, "traces", out var tls))
                    {
                        var encoder = new OtlpTraceEncoder(resource, settings.Limits);
                        exporters.Add(new OtlpExporter<Activity>(settings.Otlp, encoder.Encode, "traces", tls));
                    }

                    break;
                case "console":
                    exporters.Add(new ConsoleExporter(serviceName));
                    break;
                case "zipkin":
                    exporters.Add(new ZipkinExporter(settings.ZipkinEndpoint, serviceName, timeout, settings.Limits));
                    break;
            }
        }

        descriptions = [.. exporters.Select(e => e.Description)];
        return new BatchSpanProcessor(health?.Measure(exporters, "traces") ?? exporters, settings.Batch, timeout);
    }

    /// <summary>The log record export OTEL_LOGS_EXPORTER=otlp asks for; null otherwise (or when its TLS files cannot be used).</summary>
    public static LogExport? CreateLogExport(AgentSettings settings, IReadOnlyList<KeyValuePair<string, object>> resource, AgentHealthMetrics? health)
    {
        if (!settings.Logs.Exporters.Contains("otlp"))
        {
            return null;
        }

        if (!TryLoadTls(settings.Logs.Otlp, "logs", out var tls))
        {
            return null;
        }

        var encoder = new OtlpLogEncoder(resource, settings.Limits);
        var exporter = new OtlpExporter<LogRecordData>(settings.Logs.Otlp, encoder.Encode, "logs", tls);
        var processor = new BatchExportProcessor<LogRecordData>(health?.Measure([exporter], "logs") ?? [exporter], settings.LogsBatch, settings.Logs.Otlp.TimeoutMilliseconds, "log records", "traceagent-logs-export");
        health?.Observe(processor, "log_records", "{log_record}");
        return new LogExport(processor, settings.Logs.IncludeFormattedMessage);
    }

    /// <summary>The exporter's TLS material; false (export off, reported once) when a file cannot be used.</summary>
    public static bool TryLoadTls(OtlpExporterSettings settings, string signal, out ExportTls tls)
    {
        tls = ExportTls.SystemTrust;
        if (settings.Tls is null || settings.Endpoint.Scheme != Uri.UriSchemeHttps)
        {
            return true;
        }

        lock (TlsByFiles)
        {
            if (!TlsByFiles.TryGetValue(settings.Tls, out var loaded))
            {
                loaded = ExportTls.TryLoad(settings.Tls, out var material, out var error) ? (material, null) : (null, error);
                TlsByFiles[settings.Tls] = loaded;
                if (loaded.Error is not null)
                {
                    AgentLog.Warning(loaded.Error + "; OTLP export is off for every signal that uses it (" + signal + " first)");
                }
            }

            if (loaded.Tls is null)
            {
                return false;
            }

            tls = loaded.Tls;
            return true;
        }
    }
}
