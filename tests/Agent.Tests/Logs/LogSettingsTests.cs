using TraceAgent.Configuration;
using TraceAgent.Instrumentation;

namespace TraceAgent.Tests.Logs;

public sealed class LogSettingsTests
{
    private static AgentSettings Load(params (string Key, string Value)[] values) =>
        AgentSettings.Load(new SettingsReader(values.ToDictionary(v => v.Key, v => v.Value)), InstrumentationRegistry.Ids, InstrumentationRegistry.LogsIds);

    [Fact]
    public void The_ilogger_instrumentation_is_a_logs_instrumentation_on_by_default()
    {
        Assert.Contains("ILOGGER", InstrumentationRegistry.LogsIds);
        Assert.DoesNotContain("ILOGGER", InstrumentationRegistry.Ids);
        var settings = Load();
        Assert.True(settings.IsLogsInstrumentationEnabled("ILOGGER"));
        Assert.Equal(["none"], settings.Logs.Exporters);
        Assert.Equal(new BatchSettings(1000, 30000, 2048, 512), settings.LogsBatch);
    }

    [Theory]
    [InlineData("OTEL_DOTNET_AUTO_LOGS_ILOGGER_INSTRUMENTATION_ENABLED", "false")]
    [InlineData("OTEL_DOTNET_AUTO_LOGS_INSTRUMENTATION_ENABLED", "false")]
    [InlineData("OTEL_DOTNET_AUTO_LOGS_ENABLED", "false")]
    public void Each_logs_switch_turns_the_ilogger_instrumentation_off(string key, string value)
    {
        Assert.False(Load((key, value)).IsLogsInstrumentationEnabled("ILOGGER"));
    }

    [Fact]
    public void The_specific_switch_wins_over_the_logs_default_and_traces_switches_do_not_apply()
    {
        var settings = Load(("OTEL_DOTNET_AUTO_LOGS_INSTRUMENTATION_ENABLED", "false"), ("OTEL_DOTNET_AUTO_LOGS_ILOGGER_INSTRUMENTATION_ENABLED", "true"), ("OTEL_DOTNET_AUTO_TRACES_INSTRUMENTATION_ENABLED", "false"));
        Assert.True(settings.IsLogsInstrumentationEnabled("ILOGGER"));
    }

    [Fact]
    public void Batch_log_record_processor_settings_are_read_and_validated()
    {
        var reader = new SettingsReader(new Dictionary<string, string>
        {
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "250",
            ["OTEL_BLRP_MAX_QUEUE_SIZE"] = "100",
            ["OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"] = "200",
        });
        var settings = AgentSettings.Load(reader, InstrumentationRegistry.Ids, InstrumentationRegistry.LogsIds);
        Assert.Equal(new BatchSettings(250, 30000, 100, 100), settings.LogsBatch);
        Assert.Contains(reader.Warnings, w => w.Contains("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", StringComparison.Ordinal));
    }
}
