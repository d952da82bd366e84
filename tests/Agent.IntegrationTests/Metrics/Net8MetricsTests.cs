using System.Globalization;
using OpenTelemetry.Proto.Metrics.V1;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;
using static TraceAgent.IntegrationTests.Metrics.MetricPoints;

namespace TraceAgent.IntegrationTests.Metrics;

/// <summary>
/// The same app built for .NET 8 (self-contained, tests/TestApplications/TestApplication.Metrics/variants):
/// that runtime has no System.Runtime meter and no histogram advice, so the agent makes the runtime
/// metrics itself under the same names and gives duration histograms the conventions' boundaries.
/// </summary>
public sealed class Net8MetricsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The runtime metrics .NET 9 and later publish themselves; on .NET 8 the agent publishes each of them.</summary>
    private static readonly string[] RuntimeMetrics =
    [
        "dotnet.gc.collections", "dotnet.process.memory.working_set", "dotnet.gc.heap.total_allocated",
        "dotnet.gc.last_collection.memory.committed_size", "dotnet.gc.last_collection.heap.size",
        "dotnet.gc.last_collection.heap.fragmentation.size", "dotnet.gc.pause.time", "dotnet.jit.compiled_il.size",
        "dotnet.jit.compiled_methods", "dotnet.jit.compilation.time", "dotnet.monitor.lock_contentions",
        "dotnet.thread_pool.thread.count", "dotnet.thread_pool.work_item.count", "dotnet.thread_pool.queue.length",
        "dotnet.timer.count", "dotnet.assembly.count", "dotnet.process.cpu.count", "dotnet.process.cpu.time",
    ];

    [Fact]
    public async Task On_net8_the_agent_publishes_the_runtime_metrics_and_request_durations_get_the_conventions_boundaries()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var dll = RepoPaths.TestAppDll("TestApplication.Metrics-net8");
        Assert.True(File.Exists(dll), dll + " is missing: run build/build.sh --test-apps");
        var port = TcpPort.FreePort();
        var url = "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);

        // A self-contained app runs through its own executable, on the runtime it carries.
        using var process = TestProcess.Start(Path.ChangeExtension(dll, null), ["--urls", url], MetricsTests.Environment(receiver, "metrics-net8"), workingDirectory: Path.GetDirectoryName(dll));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string? runtime = null;
        for (var attempt = 0; attempt < 300 && runtime is null; attempt++)
        {
            Assert.False(process.HasExited, process.Describe("the .NET 8 app exited"));
            try
            {
                runtime = await client.GetStringAsync(url + "/runtime");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(100);
            }
        }

        Assert.StartsWith("8.0.", runtime, StringComparison.Ordinal);
        for (var i = 1; i <= 3; i++)
        {
            await MetricsTests.GetAsync(url + "/orders/" + i.ToString(CultureInfo.InvariantCulture));
        }

        static bool Orders(HistogramDataPoint p) => Route(p) == "/orders/{id:int}";
        var metrics = await receiver.WaitForMetricsAsync(
            all => all.LatestCount("http.server.request.duration", Orders) == 3 && RuntimeMetrics.All(name => all.Any(m => m.Name == name)),
            Timeout);

        foreach (var name in RuntimeMetrics)
        {
            Assert.All(metrics.Named(name), m => Assert.Equal("System.Runtime", m.ScopeName));
        }

        var collections = metrics.Named("dotnet.gc.collections").Last().Metric.Sum;
        Assert.True(collections.IsMonotonic);
        Assert.Equal(["gen0", "gen1", "gen2"], collections.DataPoints.Select(p => (string)p.Attributes.Attribute("gc.heap.generation")!).Order());
        var cpu = metrics.Named("dotnet.process.cpu.time").Last().Metric.Sum.DataPoints;
        Assert.Equal(["system", "user"], cpu.Select(p => (string)p.Attributes.Attribute("cpu.mode")!).Order());
        Assert.True(cpu.Sum(p => p.AsDouble) > 0);
        Assert.False(metrics.Named("dotnet.thread_pool.thread.count").Last().Metric.Sum.IsMonotonic);
        Assert.True(metrics.Named("dotnet.assembly.count").Last().Metric.Sum.DataPoints.Single().AsInt > 10);

        var point = Assert.Single(metrics.LatestHistogram("http.server.request.duration", Orders));
        Assert.Equal([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10], point.ExplicitBounds);
        Assert.Equal(point.Count, point.BucketCounts.Aggregate(0UL, (a, b) => a + b));

        var spans = await receiver.WaitForSpansAsync(all => all.Count(s => s.Kind == SpanKinds.Server && (s.Attribute("http.route") as string) == "/orders/{id:int}") == 3, Timeout);
        var exemplars = metrics.Named("http.server.request.duration").SelectMany(m => m.Metric.Histogram.DataPoints).Where(Orders).SelectMany(p => p.Exemplars).ToList();
        Assert.NotEmpty(exemplars);
        Assert.All(exemplars, e => Assert.Contains(spans, s => s.TraceId == e.TraceId.Hex() && s.SpanId == e.SpanId.Hex()));
        Assert.Contains(process.StandardError, l => l.Contains("agent's own System.Runtime meter on .NET 8", StringComparison.Ordinal));
    }
}
