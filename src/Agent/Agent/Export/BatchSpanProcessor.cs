using System.Diagnostics;
using TraceAgent.Configuration;

namespace TraceAgent.Export;

/// <summary>The batch processor for ended spans (OTEL_BSP_* settings), queueing their Activities.</summary>
internal sealed class BatchSpanProcessor : BatchExportProcessor<Activity>, ISpanProcessor
{
    public BatchSpanProcessor(IReadOnlyList<IExporter<Activity>> exporters, BatchSettings settings, int exportTimeoutMilliseconds)
        : base(exporters, settings, exportTimeoutMilliseconds, "spans", "traceagent-export")
    {
    }

    public void OnEnd(Activity activity) => Add(activity);
}
