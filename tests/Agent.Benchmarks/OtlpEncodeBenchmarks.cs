using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using TraceAgent.Configuration;
using TraceAgent.Export;

namespace TraceAgent.Benchmarks;

/// <summary>The OTLP protobuf encoding of one full batch (512 HTTP server spans with typical tags).</summary>
[MemoryDiagnoser]
public class OtlpEncodeBenchmarks
{
    private readonly List<Activity> _batch = [];
    private readonly ProtoWriter _writer = new();
    private OtlpTraceEncoder? _encoder;

    [GlobalSetup]
    public void Setup()
    {
        using var source = new ActivitySource("Bench.Encode", "1.0.0");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        for (int i = 0; i < 512; i++)
        {
            var activity = source.StartActivity("GET /items/{id}", ActivityKind.Server)!;
            activity.SetTag("http.request.method", "GET");
            activity.SetTag("url.scheme", "http");
            activity.SetTag("url.path", "/items/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            activity.SetTag("http.route", "/items/{id}");
            activity.SetTag("server.address", "127.0.0.1");
            activity.SetTag("server.port", 8080);
            activity.SetTag("network.protocol.version", "1.1");
            activity.SetTag("user_agent.original", "wrk");
            activity.SetTag("http.response.status_code", 200);
            activity.Stop();
            _batch.Add(activity);
        }

        var resource = new List<KeyValuePair<string, object>>
        {
            new("service.name", "bench"),
            new("telemetry.sdk.name", "traceagent"),
            new("telemetry.sdk.language", "dotnet"),
            new("host.name", "bench-host"),
            new("process.pid", 1234),
        };
        _encoder = new OtlpTraceEncoder(resource, new SpanLimits(128, null, 128, 128, 128, 128));
    }

    [Benchmark(Description = "OTLP encode, 512 spans")]
    public int Encode512()
    {
        _writer.Reset();
        _encoder!.Encode(_writer, _batch);
        return _writer.Length;
    }
}
