namespace TraceAgent.Configuration;

/// <summary>A batch processor's settings: OTEL_BSP_* for spans, OTEL_BLRP_* for log records.</summary>
public sealed record BatchSettings(int ScheduleDelayMilliseconds, int ExportTimeoutMilliseconds, int MaxQueueSize, int MaxExportBatchSize);
