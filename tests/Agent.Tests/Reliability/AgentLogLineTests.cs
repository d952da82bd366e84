using System.Globalization;
using TraceAgent.Diagnostics;

namespace TraceAgent.Tests.Reliability;

/// <summary>The agent's log lines: their timestamp, written digit by digit, against the framework's own formatting of the same instant.</summary>
[Collection(StandardErrorCollection.Name)]
public sealed class AgentLogLineTests
{
    public static TheoryData<DateTime> Instants => new()
    {
        new DateTime(2026, 12, 5, 9, 4, 39, 7, DateTimeKind.Utc),
        new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Utc),
        new DateTime(9999, 12, 31, 23, 59, 59, 999, DateTimeKind.Utc),
        new DateTime(2024, 2, 29, 12, 30, 5, 40, DateTimeKind.Utc),
        new DateTime(987, 10, 1, 1, 2, 3, 450, DateTimeKind.Utc),
    };

    [Theory]
    [MemberData(nameof(Instants))]
    public void The_timestamp_is_the_iso_8601_text_the_framework_writes(DateTime instant)
    {
        Assert.Equal(instant.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), AgentLog.Timestamp(instant));
    }

    [Fact]
    public void A_line_carries_the_timestamp_of_its_moment()
    {
        using var captured = new StringWriter();
        var previous = AgentLog.RedirectStderr(captured);
        try
        {
            var before = DateTime.UtcNow;
            AgentLog.Warning("a line for the test");
            var after = DateTime.UtcNow;

            var line = Assert.Single(captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("[traceagent] ", line, StringComparison.Ordinal);
            Assert.EndsWith(" warn a line for the test", line.TrimEnd('\r'), StringComparison.Ordinal);
            var stamp = DateTime.ParseExact(line.Substring(13, 24), "yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
            Assert.InRange(stamp, before.AddMilliseconds(-1), after);
        }
        finally
        {
            AgentLog.RedirectStderr(previous);
        }
    }
}
