using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace TraceAgent.Bench;

/// <summary>One launched benchmark app (a .dll run by dotnet, or a self-contained executable).</summary>
internal sealed partial class AppProcess : IDisposable
{
    private const int Sigterm = 15;
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

    public static AppProcess Start(string app, IReadOnlyDictionary<string, string> environment, IEnumerable<string>? arguments = null, bool web = true, bool input = false)
    {
        int port = web ? FreePort() : 0;
        app = Path.GetFullPath(app);
        bool dll = app.EndsWith(".dll", StringComparison.Ordinal);
        var info = new ProcessStartInfo(dll ? "dotnet" : app)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = input,

            // Run from the app's own folder, as a deployed app is: an ASP.NET Core host watches its
            // content root (the working directory) for configuration changes, and the repository,
            // with builds writing into it, kept that watcher's thread busy in every configuration.
            WorkingDirectory = Path.GetDirectoryName(app) ?? Environment.CurrentDirectory,
        };
        if (dll)
        {
            info.ArgumentList.Add(app);
        }

        foreach (var argument in arguments ?? [])
        {
            info.ArgumentList.Add(argument);
        }

        // Nothing of the runner's own environment that changes tracing or the runtime may leak in.
        foreach (var key in info.Environment.Keys.ToList())
        {
            if (key.StartsWith("OTEL_", StringComparison.Ordinal) || key.StartsWith("TRACEAGENT_", StringComparison.Ordinal)
                || key.StartsWith("BENCH_", StringComparison.Ordinal) || key.StartsWith("DOTNET_", StringComparison.Ordinal)
                || key.StartsWith("COMPlus_", StringComparison.Ordinal) || key.StartsWith("ASPNETCORE_", StringComparison.Ordinal))
            {
                info.Environment.Remove(key);
            }
        }

        if (web)
        {
            info.Environment["ASPNETCORE_URLS"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";

        // BENCH_PERF_MAPS=1 (build/bench.sh): every app writes /tmp/perf-PID.map, for perf attached by
        // hand (with W^X off, so that JIT-compiled code runs at the addresses the map gives).
        if (Environment.GetEnvironmentVariable("BENCH_PERF_MAPS") == "1")
        {
            info.Environment["DOTNET_PerfMapEnabled"] = "1";
            info.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var started = new AppProcess(process, port);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null && started._stderr.Count < 10_000)
            {
                started._stderr.Enqueue(e.Data);
            }
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                started.OutputLines.Enqueue(e.Data);
            }
        };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return started;
    }

    public ConcurrentQueue<string> OutputLines { get; } = new();

    /// <summary>
    /// Waits for the <paramref name="index"/>th (from 0) line on stdout that starts with
    /// <paramref name="prefix"/>; null if the process ends first or the time runs out.
    /// </summary>
    public string? WaitForOutput(string prefix, int index, TimeSpan timeout)
    {
        string? Find() => OutputLines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Skip(index).FirstOrDefault();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (Find() is { } line)
            {
                return line;
            }

            if (_process.HasExited)
            {
                // The last lines may still be on their way through the reader.
                _process.WaitForExit();
                return Find();
            }

            Thread.Sleep(2);
        }

        return null;
    }

    public void WriteLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Polls GET /hello until it answers 200 (the response is returned); null on timeout or exit.</summary>
    public HttpResponseMessage? WaitUntilServing(HttpClient client, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var url = BaseUrl + "/hello";
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                return null;
            }

            var response = TryGet(client, url);
            if (response is not null)
            {
                return response;
            }

            Thread.Sleep(1);
        }

        return null;
    }

    public static HttpResponseMessage? TryGet(HttpClient client, string url)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            var response = client.Send(request);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return response;
            }

            response.Dispose();
            return null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    public string Describe() => string.Join("\n", _stderr.TakeLast(40));

    public ProcStat Stat() => ProcStat.Read(Pid);

    /// <summary>A field of /proc/pid/status in kB (VmRSS, VmHWM).</summary>
    public long StatusKb(string field) => ProcStat.StatusKb(Pid, field);

    /// <summary>Sends SIGTERM without waiting (see <see cref="Stop"/>).</summary>
    public void Signal()
    {
        if (!_process.HasExited)
        {
            _ = Kill(Pid, Sigterm);
        }
    }

    /// <summary>SIGTERM, so that the tracer flushes what it holds, then waits; killed if it hangs.</summary>
    public void Stop(TimeSpan timeout)
    {
        try
        {
            if (_process.HasExited)
            {
                return;
            }

            if (Kill(Pid, Sigterm) != 0 || !_process.WaitForExit((int)timeout.TotalMilliseconds))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }

            // The asynchronous readers drain the pipes after the exit.
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Waits for the process to end by itself (killed after the timeout); its exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit((int)timeout.TotalMilliseconds))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException("the process did not end within " + timeout + ":\n" + Describe());
        }

        _process.WaitForExit();
        return _process.ExitCode;
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

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
