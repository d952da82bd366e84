using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TraceAgent.Bench;

/// <summary>One launched instance of the sample API, with what /proc tells about it.</summary>
internal sealed class AppProcess : IDisposable
{
    private static readonly long ClockTicksPerSecond = 100; // USER_HZ on Linux
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stderr = new();

    private AppProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public string BaseUrl => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}");

    public IEnumerable<string> ErrorLines => _stderr;

    public bool HasExited => _process.HasExited;

    public static AppProcess Start(string dll, IReadOnlyDictionary<string, string> environment, int? port = null)
    {
        int chosen = port ?? FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = false,
        };
        info.ArgumentList.Add(dll);

        // Nothing of the runner's own environment that changes tracing may leak into the app.
        foreach (var key in info.Environment.Keys.ToList())
        {
            if (key.StartsWith("OTEL_", StringComparison.Ordinal) || key is "DOTNET_STARTUP_HOOKS" or "ASPNETCORE_URLS" || key.StartsWith("BENCH_", StringComparison.Ordinal))
            {
                info.Environment.Remove(key);
            }
        }

        info.Environment["ASPNETCORE_URLS"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{chosen}");
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var app = new AppProcess(process, chosen);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && app._stderr.Count < 10_000)
            {
                app._stderr.Enqueue(e.Data);
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return app;
    }

    /// <summary>Polls GET /hello until it answers 200; returns false on timeout or exit.</summary>
    public bool WaitUntilServing(HttpClient client, TimeSpan timeout, Stopwatch? clock = null)
    {
        var deadline = Stopwatch.StartNew();
        var url = BaseUrl + "/hello";
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                return false;
            }

            if (TryGet(client, url))
            {
                return true;
            }

            Thread.Sleep(1);
        }

        return false;
    }

    public static bool TryGet(HttpClient client, string url)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = client.Send(request);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>utime + stime of the whole process (threads that ended included), 10 ms resolution.</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], NumberStyles.Integer, CultureInfo.InvariantCulture) + long.Parse(fields[12], NumberStyles.Integer, CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
    }

    /// <summary>Run time of the live threads from schedstat, in nanoseconds: finer than <see cref="CpuTime"/>.</summary>
    public TimeSpan ThreadsRunTime()
    {
        long total = 0;
        foreach (var task in Directory.EnumerateDirectories($"/proc/{Pid}/task"))
        {
            try
            {
                var text = File.ReadAllText(Path.Combine(task, "schedstat"));
                total += long.Parse(text.AsSpan(0, text.IndexOf(' ')), NumberStyles.Integer, CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The thread ended while we looked.
            }
        }

        return TimeSpan.FromTicks(total / 100);
    }

    /// <summary>A field of /proc/pid/status in kB (VmRSS, VmHWM).</summary>
    public long StatusKb(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                var value = line[(field.Length + 1)..].Trim();
                return long.Parse(value[..value.IndexOf(' ')], NumberStyles.Integer, CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }
}
