namespace TraceAgent.Configuration;

/// <summary>Log records (OTEL_LOGS_EXPORTER, OTEL_DOTNET_AUTO_LOGS_*): whether they are exported, and where.</summary>
public sealed record LogsSettings(bool Enabled, IReadOnlyList<string> Exporters, bool IncludeFormattedMessage, OtlpExporterSettings Otlp);
