using System.Globalization;
using System.Text;
using TraceAgent.Export;

namespace TraceAgent.Metrics;

/// <summary>Prints each collection to stdout, one line per point; for trying the agent out, not for production.</summary>
internal sealed class ConsoleMetricExporter : IExporter<MetricsBatch>
{
    private readonly StringBuilder _text = new();

    public string Description => "console";

    public ExportResult Export(IReadOnlyList<MetricsBatch> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        _text.Clear();
        foreach (var collection in batch)
        {
            foreach (var stream in collection.Streams)
            {
                if (stream.CollectedCount == 0)
                {
                    continue;
                }

                var points = stream.Series.Points(out var count);
                for (var i = 0; i < count; i++)
                {
                    var point = points[i];
                    if (point.CollectedEpoch != collection.Epoch)
                    {
                        continue;
                    }

                    _text.Append(CultureInfo.InvariantCulture, $"metric {stream.Name} [{stream.ScopeName}] ");
                    _text.Append(string.Join(",", point.Attributes.Select(a => (a.Key, Text: a.Value is null ? string.Empty : AttributeText.Of(a.Value))).Where(a => a.Text is not null).Select(a => a.Key + "=" + a.Text)));
                    if (stream.DataKind == MetricDataKind.Histogram)
                    {
                        _text.Append(CultureInfo.InvariantCulture, $" count={point.CollectedCount} sum={point.CollectedSum:G6}{stream.Unit} buckets={string.Join("|", point.CollectedBuckets)} exemplars={point.CollectedExemplarCount}");
                    }
                    else
                    {
                        _text.Append(" value=").Append(stream.IsInteger ? point.CollectedLong.ToString(CultureInfo.InvariantCulture) : point.CollectedDouble.ToString("G6", CultureInfo.InvariantCulture)).Append(stream.Unit);
                    }

                    _text.Append(stream.DataKind == MetricDataKind.Gauge ? " (gauge)" : stream.Delta ? " (delta)" : " (cumulative)").Append('\n');
                }
            }
        }

        return Exporters.WriteToConsole(_text);
    }

    public void Dispose()
    {
    }
}
