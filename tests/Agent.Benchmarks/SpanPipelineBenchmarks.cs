using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using TraceAgent.Tracing;

namespace TraceAgent.Benchmarks;

/// <summary>
/// One span through the agent's pipeline (sampler, start and stop callbacks, the span's OTLP
/// encoding as it ends and its enqueueing, as with the default OTLP exporter; the exporter here
/// discards), beside the same code on a source nobody listens to; and a server span's attributes
/// set on its Activity, beside the same attributes written into its encoding as it ends
/// (SpanHooks.WriteAttributes, as the ASP.NET Core instrumentation does with OTLP alone).
/// </summary>
[MemoryDiagnoser]
public class SpanPipelineBenchmarks
{
    private static readonly ActivitySource Traced = new("Bench.Traced");
    private static readonly ActivitySource Untraced = new("Bench.Untraced");
    private static readonly ActivitySource Written = new("Bench.Written");
    private static readonly object Port = 8080;
    private static readonly object Status = 200;
    private BenchPipeline? _pipeline;

    [GlobalSetup]
    public void Setup() => _pipeline = new BenchPipeline((Traced.Name, null), (Written.Name, new SpanHooks { WriteAttributes = WriteServerAttributes }));

    [GlobalCleanup]
    public void Cleanup() => _pipeline?.Dispose();

    [Benchmark(Baseline = true, Description = "span, no listener (uninstrumented)")]
    public void NoListener() => Run(Untraced);

    [Benchmark(Description = "span through the agent's pipeline")]
    public void ThroughPipeline() => Run(Traced);

    [Benchmark(Description = "server span, its path and 9 attributes set on its Activity")]
    public void ServerTagged() => RunServer(Traced);

    [Benchmark(Description = "server span, its path set and 9 attributes written as it is encoded")]
    public void ServerWritten() => RunServer(Written);

    // A server span as the ASP.NET Core instrumentation makes it: the path on the Activity, the rest
    // either set on it too or written as the span is encoded.
    private static void RunServer(ActivitySource source)
    {
        using var activity = source.StartActivity("GET", ActivityKind.Server);
        if (activity is null)
        {
            return;
        }

        activity.SetTag("url.path", "/items/7");
        if (source == Traced)
        {
            // As with an exporter other than OTLP alone: the same attributes, set on the Activity.
            var attributes = SpanAttributes.OnActivity(activity);
            WriteServerAttributes(activity, ref attributes);
        }

        activity.DisplayName = "GET /items/{id}";
    }

    private static void WriteServerAttributes(Activity activity, ref SpanAttributes attributes)
    {
        attributes.Add("http.request.method", "GET");
        attributes.Add("url.scheme", "http");
        attributes.Add("server.address", "127.0.0.1");
        attributes.Add("server.port", Port);
        attributes.Add("client.address", "127.0.0.1");
        attributes.Add("user_agent.original", "wrk");
        attributes.Add("network.protocol.version", "1.1");
        attributes.Add("http.response.status_code", Status);
        attributes.Add("http.route", "/items/{id}");
    }

    private static void Run(ActivitySource source)
    {
        using var activity = source.StartActivity("GET /items/{id}", ActivityKind.Server);
        if (activity is not null)
        {
            activity.SetTag("http.request.method", "GET");
            activity.SetTag("url.path", "/items/7");
            activity.SetTag("http.route", "/items/{id}");
            activity.SetTag("http.response.status_code", 200);
        }
    }
}
