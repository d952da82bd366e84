using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation.Npgsql;

namespace TraceAgent.Benchmarks;

/// <summary>
/// What the agent does to an Npgsql command span as it ends (the stable database attributes, the
/// query's shape and masking, the older names dropped), on a span tagged as Npgsql 10 tags it and
/// on one tagged as Npgsql 8 and 9 do; each beside the same span made and tagged without it. Then
/// a whole Npgsql 10 span through the agent's pipeline (its stop and its OTLP encoding as it ends),
/// the attributes it adds set on the Activity (as with an exporter other than OTLP alone) and
/// written into the encoding (OTLP alone, SpanHooks.WriteAttributes).
/// </summary>
[MemoryDiagnoser]
public class NpgsqlSpanBenchmarks
{
    private static readonly DatabaseSettings Settings = new(QueryTextEnabled: true, SanitizeQueryText: true);
    private static readonly ActivitySource Tagged = new("Bench.Npgsql.Tagged");
    private static readonly ActivitySource Written = new("Bench.Npgsql.Written");
    private static readonly object Port = 5432;
    private BenchPipeline? _pipeline;

    [GlobalSetup]
    public void Setup() => _pipeline = new BenchPipeline(
        (Tagged.Name, NpgsqlInstrumentation.Hooks(Settings, written: false)),
        (Written.Name, NpgsqlInstrumentation.Hooks(Settings, written: true)));

    [GlobalCleanup]
    public void Cleanup() => _pipeline?.Dispose();

    [Benchmark(Baseline = true, Description = "Npgsql 10 span, made and tagged")]
    public Activity Npgsql10Tagged() => Npgsql10Span();

    [Benchmark(Description = "Npgsql 10 span, with the agent's stop")]
    public Activity Npgsql10Stopped()
    {
        var activity = Npgsql10Span();
        NpgsqlInstrumentation.OnStop(activity, Settings);
        return activity;
    }

    [Benchmark(Description = "Npgsql 8 span, made and tagged")]
    public Activity Npgsql8Tagged() => Npgsql8Span();

    [Benchmark(Description = "Npgsql 8 span, with the agent's stop")]
    public Activity Npgsql8Stopped()
    {
        var activity = Npgsql8Span();
        NpgsqlInstrumentation.OnStop(activity, Settings);
        return activity;
    }

    [Benchmark(Description = "Npgsql 10 span through the pipeline, the added attributes set on its Activity")]
    public void PipelineTagged() => RunNpgsql10(Tagged);

    [Benchmark(Description = "Npgsql 10 span through the pipeline, the added attributes written as it is encoded")]
    public void PipelineWritten() => RunNpgsql10(Written);

    private static void RunNpgsql10(ActivitySource source)
    {
        using var activity = source.StartActivity("postgresql", ActivityKind.Client);
        if (activity is not null)
        {
            activity.SetTag("db.system.name", "postgresql");
            activity.SetTag("db.namespace", "bench");
            activity.SetTag("server.address", "127.0.0.1");
            activity.SetTag("server.port", Port);
            activity.SetTag("db.query.text", "SELECT name FROM items WHERE id = $1");
            activity.SetTag("db.npgsql.connection_id", 12);
        }
    }

    // Tags like those each version sets on a command (Npgsql 10: the stable names; 8 and 9: the
    // older ones, the connection string among them).
    private static Activity Npgsql10Span()
    {
        var activity = new Activity("postgresql");
        activity.SetTag("db.system.name", "postgresql");
        activity.SetTag("db.namespace", "bench");
        activity.SetTag("server.address", "127.0.0.1");
        activity.SetTag("server.port", 5432);
        activity.SetTag("db.query.text", "SELECT 1");
        activity.SetTag("db.npgsql.connection_id", 12);
        return activity;
    }

    private static Activity Npgsql8Span()
    {
        var activity = new Activity("bench");
        activity.SetTag("db.system", "postgresql");
        activity.SetTag("db.connection_string", "Host=127.0.0.1;Port=5432;Database=bench;Username=bench");
        activity.SetTag("db.user", "bench");
        activity.SetTag("db.name", "bench");
        activity.SetTag("net.transport", "ip_tcp");
        activity.SetTag("net.peer.ip", "127.0.0.1");
        activity.SetTag("net.peer.port", 5432);
        activity.SetTag("db.statement", "SELECT 1");
        activity.SetTag("db.connection_id", 12);
        return activity;
    }
}
