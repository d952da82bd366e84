using System.Text;
using TraceAgent.Diagnostics;

namespace TraceAgent.Export;

internal static class Exporters
{
    /// <summary>
    /// One export of <paramref name="batch"/>: an exporter that throws despite its contract is
    /// counted as an agent fault (logged the first time) and its batch as lost, never passed on to the app.
    /// </summary>
    public static ExportResult Export<T>(IExporter<T> exporter, IReadOnlyList<T> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        try
        {
            return exporter.Export(batch, deadlineUtc, cancellationToken);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("exporter " + exporter.Description, ex);
            return ExportResult.Failure;
        }
    }

    /// <summary>A console exporter's text, written to standard output at once; a closed output loses the batch.</summary>
    public static ExportResult WriteToConsole(StringBuilder text)
    {
        try
        {
            Console.Out.Write(text.ToString());
            Console.Out.Flush();
            return ExportResult.Success;
        }
        catch (IOException)
        {
            return ExportResult.Failure;
        }
    }
}
