using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Redis;

/// <summary>
/// A StackExchange.Redis older than 2.5.61 (docs/instrumentations/redis.md, "Versions"): the
/// instrumentation is compiled against 2.5.61's API, so it cannot start. The registry serves no such
/// version, so the test loads a stand-in (<see cref="StandInLibrary"/>): StackExchange.Redis 2.1.30
/// with one empty ConnectionMultiplexer type. Redis stays untraced with one line, the app's output
/// is unchanged, and its other spans are exported.
/// </summary>
public sealed class RedisVersionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_version_without_the_options_provider_api_leaves_redis_untraced_with_one_line()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var process = await StandInLibrary.RunConsoleAppWithAsync(receiver, "redis-version", "StackExchange.Redis", new Version(2, 1, 30, 0), "StackExchange.Redis.ConnectionMultiplexer");

        Assert.Equal(5, process.ExitCode);
        Assert.Equal(["loaded StackExchange.Redis 2.1.30.0", "console app done"], process.StandardOutput);
        var warning = Assert.Single(process.StandardError, l => l.Contains(" warn ", StringComparison.Ordinal));
        Assert.Contains("instrumentation STACKEXCHANGEREDIS is off: it could not start for StackExchange.Redis 2.1.30.0 (", warning, StringComparison.Ordinal);
        Assert.EndsWith("); the app runs on, untraced by it", warning, StringComparison.Ordinal);
        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 2, Timeout);
        Assert.Equal(["console-child", "console-root"], spans.Select(s => s.Name).Order(StringComparer.Ordinal));
    }
}
