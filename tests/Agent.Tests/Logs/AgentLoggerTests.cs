using Microsoft.Extensions.Logging;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Instrumentation.ILogger;
using TraceAgent.Logs;

namespace TraceAgent.Tests.Logs;

/// <summary>The ILogger provider's capture of one call, as the export thread receives it.</summary>
public sealed class AgentLoggerTests
{
    [Fact]
    public void A_structured_value_whose_ToString_throws_is_left_out_and_the_record_kept()
    {
        var exporter = new RecordingExporter();
        using var processor = new BatchExportProcessor<LogRecordData>([exporter], new BatchSettings(60_000, 30_000, 16, 16), 10_000, "log records", "test-logger-export");
        var logger = new AgentLoggerProvider(new LogExport(processor, includeFormattedMessage: false)).CreateLogger("Orders");

        // The state a message template makes: its values, then the template itself.
        List<KeyValuePair<string, object?>> state =
        [
            new("OrderId", 7),
            new("Customer", new Unprintable()),
            new("Price", 2.5m),
            new("{OriginalFormat}", "Order {OrderId} for {Customer} at {Price}"),
        ];
        logger.Log(LogLevel.Information, default, state, null, (_, _) => throw new InvalidOperationException("the formatter is not called"));

        Assert.True(processor.ForceFlush(30_000));
        var record = Assert.Single(exporter.Records);
        Assert.Equal("Order {OrderId} for {Customer} at {Price}", record.Body);
        Assert.Equal(["OrderId", "Price"], record.Attributes.Select(a => a.Key));
        Assert.Equal(7, record.Attributes[0].Value);
        Assert.Equal("2.5", record.Attributes[1].Value);
    }

    private sealed class Unprintable
    {
        public override string ToString() => throw new InvalidOperationException("no text on purpose");
    }

    private sealed class RecordingExporter : IExporter<LogRecordData>
    {
        public List<LogRecordData> Records { get; } = [];

        public string Description => "recording";

        public ExportResult Export(IReadOnlyList<LogRecordData> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
        {
            lock (Records)
            {
                Records.AddRange(batch);
            }

            return ExportResult.Success;
        }

        public void Dispose()
        {
        }
    }
}
