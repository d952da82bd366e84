using System.Buffers;
using System.Globalization;
using System.Text;

namespace TraceAgent.Diagnostics;

public enum AgentLogLevel
{
    None = 0,
    Error = 1,
    Warning = 2,
    Info = 3,
    Debug = 4,
}

/// <summary>
/// The agent's own log. Lines go to stderr (never stdout: the app owns it) and, when
/// OTEL_DOTNET_AUTO_LOG_DIRECTORY is set, to a file. Writing must never throw into the app.
/// </summary>
public static class AgentLog
{
    private static readonly object Gate = new();
    private static readonly SearchValues<char> LineBreaks = SearchValues.Create("\r\n\f\u0085\u2028\u2029");
    private static AgentLogLevel s_level = AgentLogLevel.Info;
    private static StreamWriter? s_file;
    private static bool s_toStderr = true;
    private static FileStream? s_stderr;
    private static bool s_stderrViaConsole;
    private static TextWriter? s_redirected;

    public static AgentLogLevel Level => s_level;

    public static bool IsEnabled(AgentLogLevel level) => level <= s_level;

    internal static void Configure(AgentLogLevel level, string? directory, bool toStderr)
    {
        s_level = level;
        s_toStderr = toStderr;
        if (string.IsNullOrWhiteSpace(directory) || level == AgentLogLevel.None)
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(directory);
            var name = string.Create(
                CultureInfo.InvariantCulture,
                $"traceagent-{SafeFileName(Environment.ProcessPath)}-{Environment.ProcessId}.log");
            var stream = new FileStream(Path.Combine(directory, name), FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            s_file = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
        }
        catch (Exception ex)
        {
            Write(AgentLogLevel.Warning, $"cannot open a log file in '{directory}' ({ex.GetType().Name}: {ex.Message}); logging to stderr only");
        }
    }

    /// <summary>
    /// For tests: the lines that would go to stderr go to <paramref name="writer"/> instead (null
    /// puts stderr back). Returns the writer it replaces.
    /// </summary>
    internal static TextWriter? RedirectStderr(TextWriter? writer)
    {
        lock (Gate)
        {
            var previous = s_redirected;
            s_redirected = writer;
            return previous;
        }
    }

    public static void Error(string message) => Write(AgentLogLevel.Error, message);

    public static void Warning(string message) => Write(AgentLogLevel.Warning, message);

    public static void Info(string message) => Write(AgentLogLevel.Info, message);

    public static void Debug(string message) => Write(AgentLogLevel.Debug, message);

    public static void Write(AgentLogLevel level, string message)
    {
        if (!IsEnabled(level))
        {
            return;
        }

        try
        {
            // One event, one line: exception messages (a FileNotFoundException's, say) may span
            // several, which would split the event for whoever reads the log line by line.
            if (message.AsSpan().IndexOfAny(LineBreaks) >= 0)
            {
                message = message.ReplaceLineEndings(" ");
            }

            var line = "[traceagent] " + Timestamp(DateTime.UtcNow) + " " + LevelName(level) + " " + message;
            lock (Gate)
            {
                if (s_redirected is { } redirected)
                {
                    redirected.WriteLine(line);
                }
                else if (s_toStderr)
                {
                    WriteToStderr(line);
                }

                s_file?.WriteLine(line);
            }
        }
        catch
        {
            // A log line is never worth an exception in the app.
        }
    }

    /// <summary>
    /// One write of the whole line to file descriptor 2 when it is a pipe, a socket or a terminal (a
    /// container's log, a service manager's journal, a shell). Not through <see cref="Console"/>: an
    /// app that does not write to the console itself would load System.Console, and run its set-up,
    /// for the agent's start-up line alone (about 0.4 MB resident). When stderr is a file, the
    /// console writes it: a FileStream over a file writes at a position of its own, which would
    /// overwrite what the app wrote there since. Called under the lock.
    /// </summary>
    private static void WriteToStderr(string line)
    {
        if (s_stderr is null && !s_stderrViaConsole)
        {
            s_stderr = OpenStderr();
            s_stderrViaConsole = s_stderr is null;
        }

        if (s_stderr is null)
        {
            Console.Error.WriteLine(line);
            return;
        }

        var bytes = new byte[Encoding.UTF8.GetMaxByteCount(line.Length) + 1];
        var length = Encoding.UTF8.GetBytes(line, bytes);
        bytes[length] = (byte)'\n';
        s_stderr.Write(bytes, 0, length + 1);
    }

    /// <summary>Descriptor 2 as an unbuffered stream when it is not seekable; null when the console must write it.</summary>
    private static FileStream? OpenStderr()
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        try
        {
            var stream = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(2, ownsHandle: false), FileAccess.Write, bufferSize: 0);
            if (!stream.CanSeek)
            {
                return stream;
            }

            stream.Dispose();
        }
        catch (Exception)
        {
            // Closed or unusable: the console copes with that as it does for the app.
        }

        return null;
    }

    /// <summary>
    /// yyyy-MM-ddTHH:mm:ss.fffZ, written digit by digit. Neither DateTime.ToString with that format
    /// nor an interpolated DateTime: both format through a generic digit writer the framework has
    /// no precompiled code for (DateTimeFormat.FormatDigits over char), which every process would
    /// JIT-compile for its first log line.
    /// </summary>
    internal static string Timestamp(DateTime utc)
    {
        Span<char> text = stackalloc char[24];
        Digits(text, 0, utc.Year, 4);
        text[4] = '-';
        Digits(text, 5, utc.Month, 2);
        text[7] = '-';
        Digits(text, 8, utc.Day, 2);
        text[10] = 'T';
        Digits(text, 11, utc.Hour, 2);
        text[13] = ':';
        Digits(text, 14, utc.Minute, 2);
        text[16] = ':';
        Digits(text, 17, utc.Second, 2);
        text[19] = '.';
        Digits(text, 20, utc.Millisecond, 3);
        text[23] = 'Z';
        return new string(text);
    }

    private static void Digits(Span<char> text, int at, int value, int count)
    {
        for (var i = at + count - 1; i >= at; i--)
        {
            text[i] = (char)('0' + (value % 10));
            value /= 10;
        }
    }

    private static string LevelName(AgentLogLevel level) => level switch
    {
        AgentLogLevel.Error => "error",
        AgentLogLevel.Warning => "warn",
        AgentLogLevel.Info => "info",
        _ => "debug",
    };

    private static string SafeFileName(string? path)
    {
        var name = Path.GetFileNameWithoutExtension(path) ?? "app";
        foreach (var c in Path.GetInvalidFileNameChars())
        {
            name = name.Replace(c, '_');
        }

        return name;
    }
}
