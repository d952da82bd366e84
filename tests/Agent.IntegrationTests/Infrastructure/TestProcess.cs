using System.Diagnostics;
using System.Text;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>
/// A child process whose stdout and stderr are captured line by line. Waiting for output is
/// event-driven: each line completes the waiters it matches, and the end of both streams fails
/// the rest at once instead of letting them run into their timeouts.
/// </summary>
public sealed class TestProcess : IDisposable
{
    private readonly Process _process;
    private readonly Lock _lock = new();
    private readonly List<string> _output = [];
    private readonly List<string> _standardOutput = [];
    private readonly List<string> _standardError = [];
    private readonly List<(string Substring, TaskCompletionSource<string> Found)> _waiters = [];
    private int _openStreams = 2;

    private TestProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code; throws while the process is still running.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Both streams interleaved in arrival order, stderr lines prefixed with "[err] ".</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_lock)
            {
                return [.. _output];
            }
        }
    }

    public IReadOnlyList<string> StandardOutput
    {
        get
        {
            lock (_lock)
            {
                return [.. _standardOutput];
            }
        }
    }

    public IReadOnlyList<string> StandardError
    {
        get
        {
            lock (_lock)
            {
                return [.. _standardError];
            }
        }
    }

    /// <summary>
    /// Runs <c>dotnet &lt;dll&gt; [arguments]</c> with the same dotnet host as the test run, or, for a
    /// self-contained app (another runtime's test app variant), its own executable, as a user would.
    /// </summary>
    public static TestProcess StartDotnet(
        string dllPath,
        IReadOnlyDictionary<string, string?>? environment = null,
        IEnumerable<string>? arguments = null,
        bool clearInheritedTelemetryVariables = true,
        string? workingDirectory = null)
    {
        var directory = workingDirectory ?? Path.GetDirectoryName(Path.GetFullPath(dllPath));
        var appHost = Path.ChangeExtension(dllPath, null);
        return IsSelfContained(dllPath) && File.Exists(appHost)
            ? Start(appHost, arguments ?? [], environment, clearInheritedTelemetryVariables, directory)
            : Start(DotnetHost(), [dllPath, .. arguments ?? []], environment, clearInheritedTelemetryVariables, directory);
    }

    /// <summary>A self-contained app's runtimeconfig.json lists the frameworks it carries instead of naming one.</summary>
    public static bool IsSelfContained(string dllPath)
    {
        var config = Path.ChangeExtension(dllPath, ".runtimeconfig.json");
        return File.Exists(config) && File.ReadAllText(config).Contains("\"includedFrameworks\"", StringComparison.Ordinal);
    }

    /// <summary>
    /// Starts <paramref name="fileName"/>. <paramref name="environment"/> entries with a null value
    /// are removed. With <paramref name="clearInheritedTelemetryVariables"/>, OTEL_* and
    /// DOTNET_STARTUP_HOOKS inherited from the test run are dropped first, so only what the test
    /// sets reaches the child.
    /// </summary>
    public static TestProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?>? environment = null,
        bool clearInheritedTelemetryVariables = true,
        string? workingDirectory = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };

        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (clearInheritedTelemetryVariables)
        {
            foreach (string name in startInfo.Environment.Keys.ToList())
            {
                if (name.StartsWith("OTEL_", StringComparison.Ordinal) || name == "DOTNET_STARTUP_HOOKS")
                {
                    startInfo.Environment.Remove(name);
                }
            }
        }

        foreach ((string name, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        var process = new Process { StartInfo = startInfo };
        var testProcess = new TestProcess(process);
        process.OutputDataReceived += (_, e) => testProcess.OnLine(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => testProcess.OnLine(e.Data, isError: true);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return testProcess;
    }

    /// <summary>Completes with the first line (stdout or stderr) containing <paramref name="substring"/>.</summary>
    /// <exception cref="TimeoutException">Also when the process ends first; the message holds all output.</exception>
    public Task<string> WaitForOutputAsync(string substring, TimeSpan timeout) => WaitForOutputAsync(substring, 0, timeout);

    /// <summary>
    /// Completes with the first line containing <paramref name="substring"/> after the first
    /// <paramref name="afterLines"/> lines of <see cref="Output"/> (a count taken earlier: what was
    /// printed before then does not count).
    /// </summary>
    public async Task<string> WaitForOutputAsync(string substring, int afterLines, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            string? existing = _output.Skip(afterLines).FirstOrDefault(line => line.Contains(substring, StringComparison.Ordinal));
            if (existing is not null)
            {
                return existing;
            }

            if (_openStreams == 0)
            {
                throw new TimeoutException(Describe($"The process ended without printing \"{substring}\"."));
            }

            _waiters.Add((substring, found));
        }

        try
        {
            return await found.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException) when (!found.Task.IsCompleted)
        {
            lock (_lock)
            {
                _waiters.RemoveAll(waiter => waiter.Found == found);
            }

            throw new TimeoutException(Describe($"Timed out after {timeout.TotalSeconds:0.#} s waiting for \"{substring}\"."));
        }
    }

    /// <summary>Waits for exit and returns the exit code; on timeout kills the whole process tree and throws.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            // Also waits for the redirected streams to reach end of file, so Output is complete.
            await _process.WaitForExitAsync(cancellation.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException(Describe($"The process did not exit within {timeout.TotalSeconds:0.#} s and was killed."));
        }

        return _process.ExitCode;
    }

    /// <summary>Kills the process and all its descendants; harmless if it already exited.</summary>
    public void Kill()
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
            // The process exited between the check and the kill.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Some descendant could not be signalled; nothing more a test can do about it.
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    /// <summary>The output so far, for assertion messages.</summary>
    public string Describe(string headline)
    {
        var text = new StringBuilder(headline);
        lock (_lock)
        {
            text.Append("\n--- output of ").Append(_process.StartInfo.FileName).Append(' ')
                .Append(string.Join(' ', _process.StartInfo.ArgumentList)).Append(" ---");
            foreach (string line in _output)
            {
                text.Append('\n').Append(line);
            }
        }

        return text.ToString();
    }

    private void OnLine(string? line, bool isError)
    {
        List<TaskCompletionSource<string>> matched = [];
        List<TaskCompletionSource<string>> orphaned = [];
        lock (_lock)
        {
            if (line is null)
            {
                // A null line is end of stream; once both are closed, nothing can match any more.
                if (--_openStreams == 0)
                {
                    orphaned.AddRange(_waiters.Select(waiter => waiter.Found));
                    _waiters.Clear();
                }
            }
            else
            {
                _output.Add(isError ? "[err] " + line : line);
                (isError ? _standardError : _standardOutput).Add(line);
                for (int i = _waiters.Count - 1; i >= 0; i--)
                {
                    if (line.Contains(_waiters[i].Substring, StringComparison.Ordinal))
                    {
                        matched.Add(_waiters[i].Found);
                        _waiters.RemoveAt(i);
                    }
                }
            }
        }

        foreach (TaskCompletionSource<string> found in matched)
        {
            found.TrySetResult(isError ? "[err] " + line : line!);
        }

        foreach (TaskCompletionSource<string> found in orphaned)
        {
            found.TrySetException(new TimeoutException(Describe("The process ended before printing what was awaited.")));
        }
    }

    /// <summary>The dotnet host that starts framework-dependent apps.</summary>
    public static string DotnetHost()
    {
        // The SDK sets DOTNET_HOST_PATH for the processes it starts, including the test host.
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return "dotnet";
    }
}
