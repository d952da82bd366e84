using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway redis-server on 127.0.0.1 without persistence. Talks RESP over a raw socket, so
/// this project needs no Redis client library.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const int StartAttempts = 3;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly string _directory;
    private TestProcess? _process;
    private int _disposed;

    private RedisServer(string directory)
    {
        _directory = directory;
    }

    public int Port { get; private set; }

    /// <summary>"127.0.0.1:port", the form StackExchange.Redis takes.</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public static async Task<RedisServer> StartAsync()
    {
        string executable = Command.FindOnPath("redis-server")
            ?? throw new FileNotFoundException("redis-server is not on PATH.");
        var server = new RedisServer(Directory.CreateTempSubdirectory("redis-").FullName);
        try
        {
            await server.StartProcessAsync(executable).ConfigureAwait(false);
            string? pong = await server.SendCommandAsync("PING").ConfigureAwait(false);
            if (pong != "PONG")
            {
                throw new InvalidOperationException($"redis-server answered PING with \"{pong}\".");
            }

            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Sends one command and returns the reply: the text of a simple string, error ("ERR ..."),
    /// integer or bulk string, or null for a null bulk string. Arrays are not decoded.
    /// </summary>
    public async Task<string?> SendCommandAsync(params string[] arguments)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port).ConfigureAwait(false);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(EncodeCommand(arguments)).ConfigureAwait(false);
        return await ReadReplyAsync(stream).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_process is { HasExited: false } process)
        {
            try
            {
                // The server closes the connection instead of replying when SHUTDOWN succeeds.
                await SendCommandAsync("SHUTDOWN", "NOSAVE").ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                // Expected, or the server is unreachable: either way the kill below ends it.
            }

            try
            {
                await process.WaitForExitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // WaitForExitAsync killed it.
            }
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing a test over.
        }
    }

    private async Task StartProcessAsync(string executable)
    {
        // The free port can be taken between probing and binding; a fresh one usually works.
        for (int attempt = 1; ; attempt++)
        {
            Port = TcpPort.FreePort();
            _process = TestProcess.Start(
                executable,
                ["--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--daemonize", "no"]);
            try
            {
                await _process.WaitForOutputAsync("Ready to accept connections", StartTimeout).ConfigureAwait(false);
                return;
            }
            catch (TimeoutException) when (attempt < StartAttempts && _process.HasExited)
            {
                _process.Dispose();
            }
        }
    }

    private static byte[] EncodeCommand(string[] arguments)
    {
        var command = new StringBuilder();
        command.Append(CultureInfo.InvariantCulture, $"*{arguments.Length}\r\n");
        foreach (string argument in arguments)
        {
            command.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(argument)}\r\n{argument}\r\n");
        }

        return Encoding.UTF8.GetBytes(command.ToString());
    }

    private static async Task<string?> ReadReplyAsync(Stream stream)
    {
        string line = await ReadLineAsync(stream).ConfigureAwait(false);
        if (line.Length == 0)
        {
            throw new IOException("Empty RESP reply.");
        }

        switch (line[0])
        {
            case '+':
            case '-':
            case ':':
                return line[1..];
            case '$':
                int length = int.Parse(line.AsSpan(1), NumberStyles.Integer, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }

                byte[] data = new byte[length + 2];
                await stream.ReadExactlyAsync(data).ConfigureAwait(false);
                return Encoding.UTF8.GetString(data, 0, length);
            default:
                return line;
        }
    }

    private static async Task<string> ReadLineAsync(Stream stream)
    {
        var bytes = new List<byte>();
        byte[] one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one).ConfigureAwait(false) == 0)
            {
                throw new IOException("Connection closed before the RESP reply ended.");
            }

            if (one[0] == '\n' && bytes.Count > 0 && bytes[^1] == '\r')
            {
                bytes.RemoveAt(bytes.Count - 1);
                return Encoding.UTF8.GetString([.. bytes]);
            }

            bytes.Add(one[0]);
        }
    }
}
