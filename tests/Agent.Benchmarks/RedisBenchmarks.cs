using BenchmarkDotNet.Attributes;
using StackExchange.Redis;

namespace TraceAgent.Benchmarks;

/// <summary>
/// A GET against the redis-server build/bench.sh started (BENCH_REDIS). Run in a plain process and
/// in one with the agent's startup hook: the difference is the agent's per-command cost (profiler
/// session, the client span made from the profiled command, its export).
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("library")]
public class RedisBenchmarks
{
    private ConnectionMultiplexer? _multiplexer;
    private IDatabase? _database;

    [GlobalSetup]
    public void Setup()
    {
        var address = Environment.GetEnvironmentVariable("BENCH_REDIS") ?? throw new InvalidOperationException("BENCH_REDIS is not set");
        _multiplexer = ConnectionMultiplexer.Connect(address);
        _database = _multiplexer.GetDatabase();
        _database.StringSet("bench:key", "value");
    }

    [GlobalCleanup]
    public void Cleanup() => _multiplexer?.Dispose();

    [Benchmark(Description = "GET (round trip to redis-server)")]
    public RedisValue StringGet() => _database!.StringGet("bench:key");
}
