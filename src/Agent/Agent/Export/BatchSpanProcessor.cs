using System.Diagnostics;
using TraceAgent.Configuration;

namespace TraceAgent.Export;

/// <summary>The batch processor for ended spans (OTEL_BSP_* settings).</summary>
internal sealed class BatchSpanProcessor : BatchExportProcessor<Activity>
{
    public BatchSpanProcessor(IReadOnlyList<IExporter<Activity>> exporters, BatchSettings settings, int exportTimeoutMilliseconds)
        : base(exporters, settings, exportTimeoutMilliseconds, "spans", "traceagent-export")
    {
    }

    public void OnEnd(Activity activity) => Add(activity);
}
