using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace TraceAgent.IntegrationTests.Reliability;

/// <summary>What one bounded burst of requests gave: how many were answered correctly, and how fast.</summary>
public sealed record LoadResult(int Sent, int Correct, IReadOnlyList<string> Failures, double P50Milliseconds, double P99Milliseconds, double MaxMilliseconds)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Correct}/{Sent} correct, p50 {P50Milliseconds:0.0} ms, p99 {P99Milliseconds:0.0} ms, max {MaxMilliseconds:0.0} ms");
}

/// <summary>
/// Sends a fixed number of requests to 127.0.0.1 with a fixed number of workers. Everything is
/// bounded by count; each request has its own timeout, so a stuck app fails the burst instead of
/// hanging the test.
/// </summary>
public static class Load
{
    public static HttpClient NewClient(int connections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <param name="count">How many requests at most.</param>
    /// <param name="path">The path of request i.</param>
    /// <param name="expectedBody">The body request i must get with status 200.</param>
    /// <param name="stop">Once cancelled, no further request is started.</param>
    public static async Task<LoadResult> RunAsync(HttpClient client, string baseUrl, int count, int concurrency, Func<int, string> path, Func<int, string> expectedBody, CancellationToken stop = default)
    {
        var latencies = new double[count];
        var sent = 0;
        var failures = new List<string>();
        var next = -1;
        var correct = 0;

        async Task Worker()
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count || stop.IsCancellationRequested)
                {
                    return;
                }

                Interlocked.Increment(ref sent);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    // A request once sent runs to its end: stopping only stops sending more.
                    using var response = await client.GetAsync(baseUrl + path(i), CancellationToken.None);
                    var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    if (response.StatusCode == HttpStatusCode.OK && body == expectedBody(i))
                    {
                        Interlocked.Increment(ref correct);
                    }
                    else
                    {
                        lock (failures)
                        {
                            failures.Add($"{path(i)}: {(int)response.StatusCode} {Truncate(body)}");
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    lock (failures)
                    {
                        failures.Add($"{path(i)}: {ex.GetType().Name} {ex.Message}");
                    }
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(Worker)));
        Array.Sort(latencies);
        latencies = latencies[(count - sent)..];
        return new LoadResult(sent, correct, failures, Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies.Length == 0 ? 0 : latencies[^1]);
    }

    private static double Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(fraction * sorted.Length) - 1)];

    private static string Truncate(string text) => text.Length <= 120 ? text : text[..120] + "...";
}

/// <summary>What the OS and the app's own GC say about a running test app.</summary>
public static class Probe
{
    /// <summary>The app's managed heap after a full collection, from its /__gc endpoint.</summary>
    public static async Task<long> GcHeapAsync(HttpClient client, string baseUrl)
    {
        var text = await client.GetStringAsync(baseUrl + "/__gc");
        return long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    public static ProcessFigures Read(int pid)
    {
        long rssKb = 0;
        var threads = 0;
        foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rssKb = long.Parse(line["VmRSS:".Length..].Replace("kB", string.Empty, StringComparison.Ordinal).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line["Threads:".Length..].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            }
        }

        var fds = Directory.GetFileSystemEntries($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/fd").Length;
        return new ProcessFigures(rssKb * 1024, threads, fds);
    }
}

public readonly record struct ProcessFigures(long RssBytes, int Threads, int FileDescriptors)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"RSS {RssBytes / (1024.0 * 1024):0.0} MB, {Threads} threads, {FileDescriptors} fds");
}
