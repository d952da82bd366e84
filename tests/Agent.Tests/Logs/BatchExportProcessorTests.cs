using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Logs;

namespace TraceAgent.Tests.Logs;

public sealed class BatchExportProcessorTests
{
    /// <summary>Blocks its first export until released, so the test knows exactly what is queued.</summary>
    private sealed class GatedExporter : IExporter<LogRecordData>
    {
        private int _calls;

        public ManualResetEventSlim Entered { get; } = new(false);

        public ManualResetEventSlim Release { get; } = new(false);

        public List<string?> Bodies { get; } = [];

        public string Description => "gated";

        public ExportResult Export(IReadOnlyList<LogRecordData> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
        {
            lock (Bodies)
            {
                Bodies.AddRange(batch.Select(r => r.Body));
            }

            if (Interlocked.Increment(ref _calls) == 1)
            {
                Entered.Set();
                Release.Wait(TimeSpan.FromSeconds(30), CancellationToken.None);
            }

            return ExportResult.Success;
        }

        public void Dispose()
        {
        }
    }

    private static LogRecordData Record(string body) => new()
    {
        TimestampUtc = DateTime.UtcNow,
        Category = "Test",
        SeverityNumber = 9,
        SeverityText = "Info",
        Body = body,
    };

    [Fact]
    public void Log_records_are_exported_in_batches_and_a_full_queue_drops_instead_of_blocking()
    {
        var exporter = new GatedExporter();

        // A long schedule delay: only a full batch or a flush exports.
        using var processor = new BatchExportProcessor<LogRecordData>([exporter], new BatchSettings(60_000, 30_000, 3, 3), 10_000, "log records", "test-logs-export");
        var logs = new LogExport(processor, includeFormattedMessage: false);
        for (var i = 0; i < 3; i++)
        {
            logs.Emit(Record("first" + i));
        }

        // The full batch woke the export thread, which now holds it in the gated export.
        Assert.True(exporter.Entered.Wait(TimeSpan.FromSeconds(30)));
        for (var i = 0; i < 5; i++)
        {
            logs.Emit(Record("second" + i));
        }

        Assert.Equal(2, processor.DroppedCount);
        exporter.Release.Set();
        Assert.True(processor.ForceFlush(30_000));
        lock (exporter.Bodies)
        {
            Assert.Equal(["first0", "first1", "first2", "second0", "second1", "second2"], exporter.Bodies);
        }

        Assert.Equal(6, processor.ExportedCount);
        processor.Shutdown(1000);
        logs.Emit(Record("after shutdown"));
        Assert.Equal(3, processor.DroppedCount);
    }
}
