using System.Diagnostics;
using System.Globalization;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;
using Xunit.Abstractions;

namespace TraceAgent.IntegrationTests.Reliability;

/// <summary>
/// Steady load for a bounded time: memory, threads and file descriptors of the traced app must
/// stay flat. 30 s by default (CI); RUN_SOAK=1 runs 150 s.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class SoakTests(ITestOutputHelper output)
{
    private const string App = "TestApplication.Web";
    private const int Concurrency = 4;
    private const int RequestsPerWindow = 1500;
    private const int MaxWindows = 400;
    private const long HeapGrowthAllowance = 16L * 1024 * 1024;
    private const long RssGrowthAllowance = 48L * 1024 * 1024;
    private const int ThreadGrowthAllowance = 8;
    private const int FdGrowthAllowance = 16;

    [Fact]
    public async Task Steady_load_keeps_memory_threads_and_descriptors_flat()
    {
        var duration = Environment.GetEnvironmentVariable("RUN_SOAK") == "1" ? TimeSpan.FromSeconds(150) : TimeSpan.FromSeconds(30);
        await using var receiver = await OtlpReceiver.StartAsync();

        // The app is its own backend: every request is a server span, a client span and a second server span.
        var port = TcpPort.FreePort();
        var url = "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
        var environment = AgentEnvironment.For(receiver, "soak").With(("BACKEND_URL", url));
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(App), environment, ["--urls", url]);
        using var client = Load.NewClient(Concurrency);
        await WaitUntilAnsweringAsync(client, url, process);

        var samples = new List<(TimeSpan At, long Heap, ProcessFigures Process, LoadResult Load)>();
        var started = Stopwatch.GetTimestamp();
        var sent = 0;
        var window = 0;
        while (Stopwatch.GetElapsedTime(started) < duration && window < MaxWindows)
        {
            var first = window * RequestsPerWindow;
            var result = await Load.RunAsync(
                client,
                url,
                RequestsPerWindow,
                Concurrency,
                i => "/front/" + (first + i).ToString(CultureInfo.InvariantCulture),
                i => "{\"id\":" + (first + i).ToString(CultureInfo.InvariantCulture) + "}");
            Assert.True(result.Correct == RequestsPerWindow, result + "\n" + string.Join("\n", result.Failures.Take(10)));
            sent += result.Sent;
            window++;

            // The receiver keeps what it gets; forget it, or the test process is what grows.
            receiver.Clear();
            samples.Add((Stopwatch.GetElapsedTime(started), await Probe.GcHeapAsync(client, url), Probe.Read(process.Id), result));
        }

        Assert.True(samples.Count >= 4, $"only {samples.Count} windows in {duration}");
        Figures.Append("soak stderr: " + string.Join(" / ", process.StandardError));

        // Compare the end with the state after the first quarter (JIT, pools and caches warmed).
        var reference = samples[samples.Count / 4];
        var tail = samples.Skip(samples.Count * 3 / 4).ToList();
        var text = string.Join(
            "\n  ",
            samples.Where((_, i) => i % Math.Max(1, samples.Count / 10) == 0 || i == samples.Count - 1)
                .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.At.TotalSeconds,5:0} s: heap {s.Heap / (1024.0 * 1024):0.0} MB, {s.Process}, {s.Load}")));
        text = string.Create(CultureInfo.InvariantCulture, $"soak {duration.TotalSeconds:0} s, {sent} requests ({sent * 3} spans):\n  {text}");
        output.WriteLine(text);
        Figures.Append(text);

        Assert.All(tail, s => Assert.True(s.Heap < reference.Heap + HeapGrowthAllowance, $"heap {s.Heap} at {s.At}, reference {reference.Heap}"));
        Assert.All(tail, s => Assert.True(s.Process.RssBytes < reference.Process.RssBytes + RssGrowthAllowance, $"RSS {s.Process} at {s.At}, reference {reference.Process}"));
        Assert.All(tail, s => Assert.True(s.Process.Threads <= reference.Process.Threads + ThreadGrowthAllowance, $"{s.Process} at {s.At}, reference {reference.Process}"));
        Assert.All(tail, s => Assert.True(s.Process.FileDescriptors <= reference.Process.FileDescriptors + FdGrowthAllowance, $"{s.Process} at {s.At}, reference {reference.Process}"));
    }

    private static async Task WaitUntilAnsweringAsync(HttpClient client, string url, TestProcess process)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            try
            {
                using var response = await client.GetAsync(url + "/hello");
                return;
            }
            catch (HttpRequestException) when (!process.HasExited)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException(process.Describe("the app never answered"));
    }
}
