using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Kafka;

/// <summary>
/// Confluent.Kafka versions outside the layout map (docs/instrumentations/kafka.md, "Versions"):
/// older than 1.9.0, newer than 2.16.x, or in the range with another layout. The registry serves
/// none of them, so each is a stand-in assembly (<see cref="StandInLibrary"/>) with the type the
/// agent reads and none of its fields. A real app loads it; the Kafka instrumentation stays off
/// with one line that says why, and everything else is traced.
/// </summary>
public sealed class KafkaVersionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("1.8.2", "Confluent.Kafka 1.8.2.0 is outside the supported versions (produceva (1.9.0 - 2.16.x))")]
    [InlineData("3.0.0", "Confluent.Kafka 3.0.0.0 is outside the supported versions (produceva (1.9.0 - 2.16.x))")]
    [InlineData("2.10.0", "Confluent.Kafka 2.10.0.0 does not have the expected produceva (1.9.0 - 2.16.x) layout: no field ")]
    public async Task An_unsupported_version_leaves_kafka_untraced_with_one_line_and_the_rest_traced(string version, string reason)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var process = await StandInLibrary.RunConsoleAppWithAsync(receiver, "kafka-version", "Confluent.Kafka", Version.Parse(version + ".0"), "Confluent.Kafka.Impl.Librdkafka");

        Assert.Equal(5, process.ExitCode);
        Assert.Equal(["loaded Confluent.Kafka " + version + ".0", "console app done"], process.StandardOutput);
        var warning = Assert.Single(process.StandardError, l => l.Contains(" warn ", StringComparison.Ordinal));
        Assert.Contains("Kafka instrumentation is off: " + reason, warning, StringComparison.Ordinal);
        Assert.EndsWith("; Kafka clients run untraced", warning, StringComparison.Ordinal);
        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 2, Timeout);
        Assert.Equal(["console-child", "console-root"], spans.Select(s => s.Name).Order(StringComparer.Ordinal));
    }
}
