using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>
/// A forward proxy on 127.0.0.1 for the exporter's proxy tests: CONNECT tunnels (how HTTPS goes
/// through a proxy) and absolute-form requests (how plain HTTP does), each recorded by its first line.
/// It forwards only to loopback addresses.
/// </summary>
public sealed class ConnectProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _requests = [];
    private readonly Lock _lock = new();
    private readonly Task _loop;

    public ConnectProxy()
    {
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    public string Url => "http://127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>First lines seen: "CONNECT 127.0.0.1:1234 HTTP/1.1", "POST http://127.0.0.1:1234/v1/traces HTTP/1.1".</summary>
    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var inbound = client.GetStream();
                var head = await ReadHeadAsync(inbound);
                if (head is null)
                {
                    return;
                }

                var firstLine = head[..head.IndexOf("\r\n", StringComparison.Ordinal)];
                lock (_lock)
                {
                    _requests.Add(firstLine);
                }

                var parts = firstLine.Split(' ');
                using var upstream = new TcpClient();
                if (parts[0] == "CONNECT")
                {
                    var target = parts[1].Split(':');
                    await upstream.ConnectAsync(Loopback(target[0]), int.Parse(target[1], CultureInfo.InvariantCulture));
                    await inbound.WriteAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray());
                    await PipeAsync(inbound, upstream.GetStream());
                    return;
                }

                // Absolute form: POST http://host:port/path HTTP/1.1 -> origin form to the target.
                var uri = new Uri(parts[1]);
                await upstream.ConnectAsync(Loopback(uri.Host), uri.Port);
                var rewritten = parts[0] + " " + uri.PathAndQuery + " " + parts[2] + head[firstLine.Length..];
                var outbound = upstream.GetStream();
                await outbound.WriteAsync(Encoding.ASCII.GetBytes(rewritten));
                await PipeAsync(inbound, outbound);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or FormatException or InvalidOperationException)
            {
                // A client or server that went away; the tests judge by what arrived.
            }
        }
    }

    private static IPAddress Loopback(string host) =>
        IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address) ? address
        : host == "localhost" ? IPAddress.Loopback
        : throw new InvalidOperationException("the test proxy forwards to loopback only, not " + host);

    private static async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (head.Length < 16 * 1024)
        {
            if (await stream.ReadAsync(one) == 0)
            {
                return null;
            }

            head.Append((char)one[0]);
            if (head.Length >= 4 && head[^1] == '\n' && head[^2] == '\r' && head[^3] == '\n' && head[^4] == '\r')
            {
                return head.ToString();
            }
        }

        return null;
    }

    private static async Task PipeAsync(Stream a, Stream b)
    {
        var one = a.CopyToAsync(b);
        var two = b.CopyToAsync(a);
        await Task.WhenAny(one, two);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }
}
