using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using TraceAgent.Propagation;

namespace TraceAgent.Export.Transport;

/// <summary>
/// OTLP/HTTP to a collector at an <c>http://</c> endpoint without HttpClient: one kept-alive HTTP/1.1
/// connection, written and read with blocking socket calls by the exporter's thread alone.
/// </summary>
/// <remarks>
/// Why not HttpClient: its connections read ahead asynchronously, so every export, even one sent
/// with the synchronous <c>HttpClient.Send</c>, wakes the thread pool (the socket engine's thread,
/// then a worker for the continuation), and woken workers spin waiting for more work. In a profile
/// of a process exporting 40,000 spans a second, that spinning cost as much CPU as encoding the
/// spans. HttpClient also brings a few hundred methods for the JIT to compile, and their
/// assemblies, into a process that may never make an HTTP call of its own. It stays for what this
/// class does not do: TLS, proxies and gRPC (HTTP/2).
/// </remarks>
internal sealed class PlainHttpClient : IDisposable
{
    /// <summary>The most an answer's status line and headers may take (HttpClient's limit was set to the same).</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    // As SocketsHttpHandler.PooledConnectionLifetime was: a collector behind a name that moves (a
    // DNS change, a redeployed service) is found again within this long.
    private static readonly TimeSpan DefaultConnectionLifetime = TimeSpan.FromMinutes(2);

    // A connection that carried a request this recently is reused without asking the socket
    // whether the collector closed it meanwhile (a poll and a byte count, two system calls and
    // framework code the JIT compiled twice in the first seconds, when exports are milliseconds
    // apart). One closed all the same fails with nothing of an answer read, and the request goes
    // again on a new connection.
    private static readonly long PollAfterIdleTicks = Stopwatch.Frequency;

    // The socket's send and receive timeouts are set a little under the time the request has left,
    // and set again only when that time falls below them or moves well past them: set before every
    // call, they were a system call each and framework code the JIT compiled twice in the first
    // seconds. A call so never runs past the request's deadline, and a request may be given up as
    // much as twice this sooner (a fifth of its timeout, if less).
    private const int MaxTimeoutSlackMilliseconds = 50;

    private readonly string _host;
    private readonly int _port;
    private readonly byte[] _head;
    private readonly byte[] _buffer = new byte[8 * 1024];
    private readonly int _connectTimeoutMilliseconds;
    private Socket? _socket;
    private long _connectedAt;
    private long _lastAnswered;
    private int _sendTimeout;
    private int _receiveTimeout;
    private int _timeoutSlack = 1;
    private int _start;
    private int _end;

    /// <summary>How long one connection serves before the next request opens a new one (2 minutes; tests shorten it).</summary>
    internal TimeSpan ConnectionLifetime { get; init; } = DefaultConnectionLifetime;

    /// <param name="headers">Sent on every request after the agent's own; a name or value with a
    /// control character is left out (it would end the header early), as HttpClient leaves it out.</param>
    public PlainHttpClient(Uri endpoint, string contentType, string? contentEncoding, string? userAgent, IEnumerable<KeyValuePair<string, string>> headers, int connectTimeoutMilliseconds)
    {
        _host = endpoint.DnsSafeHost;
        _port = endpoint.Port;
        _connectTimeoutMilliseconds = connectTimeoutMilliseconds;
        var head = new StringBuilder();
        head.Append("POST ").Append(endpoint.PathAndQuery).Append(" HTTP/1.1\r\n");
        head.Append("Host: ").Append(endpoint.Authority).Append("\r\n");
        if (userAgent is not null)
        {
            head.Append("User-Agent: ").Append(userAgent).Append("\r\n");
        }

        head.Append("Content-Type: ").Append(contentType).Append("\r\n");
        if (contentEncoding is not null)
        {
            head.Append("Content-Encoding: ").Append(contentEncoding).Append("\r\n");
        }

        foreach (var header in headers)
        {
            if (IsToken(header.Key) && !header.Value.Any(char.IsControl) && header.Value.All(c => c < 0x80))
            {
                head.Append(header.Key).Append(": ").Append(header.Value.Trim()).Append("\r\n");
            }
        }

        head.Append("Content-Length: ");
        _head = Encoding.ASCII.GetBytes(head.ToString());
    }

    /// <summary>
    /// Whether this client can carry an exporter's requests: OTLP/HTTP (not gRPC) to an <c>http</c>
    /// endpoint, with no proxy named in the environment for plain HTTP (the runtime's variables,
    /// either case). With a proxy, HttpClient sends, and applies the proxy and <c>NO_PROXY</c> as
    /// it does for every HttpClient of the process.
    /// </summary>
    public static bool CanSend(Uri endpoint, bool grpc) =>
        !grpc
        && endpoint.Scheme == Uri.UriSchemeHttp
        && !Named("HTTP_PROXY") && !Named("http_proxy") && !Named("ALL_PROXY") && !Named("all_proxy");

    private static bool Named(string variable) => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(variable));

    private static bool IsToken(string name) =>
        name.Length > 0 && name.All(c => c is > ' ' and < (char)0x7f and not (':' or '(' or ')' or ',' or '/' or ';' or '<' or '=' or '>' or '?' or '@' or '[' or '\\' or ']' or '{' or '}' or '"'));

    /// <summary>
    /// Sends one POST and reads its answer. Throws <see cref="TimeoutException"/> when the timeout
    /// passes, <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/>
    /// is cancelled, <see cref="SocketException"/> or <see cref="IOException"/> when the
    /// connection fails; the connection is closed then, and made again by the next request.
    /// </summary>
    public PlainHttpAnswer Post(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> payload, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)Math.Max(1, timeout.TotalMilliseconds);
        _timeoutSlack = (int)Math.Clamp(timeout.TotalMilliseconds / 10, 1, MaxTimeoutSlackMilliseconds);
        cancellationToken.ThrowIfCancellationRequested();

        // A collector may have closed a connection that waited since the last export: such a
        // connection reads as readable with nothing to read. Found then, it costs nothing.
        if (_socket is not null && (Stopwatch.GetElapsedTime(_connectedAt) > ConnectionLifetime
            || (Stopwatch.GetTimestamp() - _lastAnswered > PollAfterIdleTicks && PeerClosed(_socket))))
        {
            Close();
        }

        for (var attempt = 0; ; attempt++)
        {
            var reused = _socket is not null;
            var socket = _socket ??= Connect(deadline, cancellationToken);
            using var registration = cancellationToken.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket);
            _start = _end = 0;
            try
            {
                Send(socket, prefix, payload, deadline);
                var answer = Read(socket, deadline, out var keep);
                _lastAnswered = Stopwatch.GetTimestamp();
                return keep ? answer : CloseAfter(answer);
            }
            catch (TimeoutException)
            {
                Close();
                throw;
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
            {
                var answerBegun = _end > 0;
                Close();
                cancellationToken.ThrowIfCancellationRequested();
                if (ex is SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock })
                {
                    throw new TimeoutException("no answer within the timeout", ex);
                }

                // A kept-alive connection the collector closed just as the request went out, with
                // nothing of an answer read: sent again once, on a new connection (HttpClient does
                // the same). OTLP requests may be sent twice; a collector that saw it drops nothing.
                if (reused && attempt == 0 && !answerBegun)
                {
                    continue;
                }

                throw;
            }
        }
    }

    private PlainHttpAnswer CloseAfter(PlainHttpAnswer answer)
    {
        Close();
        return answer;
    }

    private static bool PeerClosed(Socket socket)
    {
        try
        {
            return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    private Socket Connect(long deadline, CancellationToken cancellationToken)
    {
        var budget = (int)Math.Min(_connectTimeoutMilliseconds, Math.Max(1, deadline - Environment.TickCount64));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(budget);
        IPAddress[] addresses;
        if (IPAddress.TryParse(_host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                // Made once per connection, not per request: the asynchronous form is the one that
                // can be given up on when the name server does not answer.
                addresses = Dns.GetHostAddressesAsync(_host, timeout.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException("no address for " + _host + " within the timeout");
            }
        }

        SocketException? failure = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using (timeout.Token.UnsafeRegister(static s => ((Socket)s!).Dispose(), socket))
                {
                    socket.Connect(new IPEndPoint(address, _port));
                }

                _connectedAt = Stopwatch.GetTimestamp();
                _sendTimeout = _receiveTimeout = 0;
                _start = _end = 0;
                return socket;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                socket.Dispose();
                cancellationToken.ThrowIfCancellationRequested();
                if (timeout.IsCancellationRequested)
                {
                    throw new TimeoutException("no connection within the timeout");
                }

                failure = ex as SocketException ?? new SocketException((int)SocketError.OperationAborted);
            }
        }

        // The runtime's message names the address: "Connection refused 10.0.0.7:4318".
        throw failure ?? new SocketException((int)SocketError.HostNotFound);
    }

    private void Send(Socket socket, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> payload, long deadline)
    {
        // The head and the length in one write, then the body: no copy of the body.
        Span<byte> head = stackalloc byte[_head.Length + 24];
        new ReadOnlySpan<byte>(_head).CopyTo(head); // not the generic array overload: no precompiled code for it
        var length = _head.Length;
        (prefix.Length + payload.Length).TryFormat(head[length..], out var digits, provider: CultureInfo.InvariantCulture);
        length += digits;
        "\r\n\r\n"u8.CopyTo(head[length..]);
        length += 4;
        SendAll(socket, head[..length], deadline);
        SendAll(socket, prefix, deadline);
        SendAll(socket, payload, deadline);
    }

    private void SendAll(Socket socket, ReadOnlySpan<byte> bytes, long deadline)
    {
        while (!bytes.IsEmpty)
        {
            if (TimeoutFor(Remaining(deadline), ref _sendTimeout, _timeoutSlack) is var send and > 0)
            {
                socket.SendTimeout = send;
            }

            bytes = bytes[socket.Send(bytes)..];
        }
    }

    /// <summary>
    /// The timeout to set on the socket (and now <paramref name="current"/>), a little under the
    /// <paramref name="remaining"/> milliseconds; 0 when the one it has (<paramref name="current"/>,
    /// 0 for none yet) still ends a call by the deadline and not more than twice
    /// <paramref name="slack"/> before it.
    /// </summary>
    internal static int TimeoutFor(int remaining, ref int current, int slack)
    {
        if (current != 0 && current <= remaining && remaining - current <= 2 * slack)
        {
            return 0;
        }

        current = Math.Max(1, remaining - slack);
        return current;
    }

    private static int Remaining(long deadline)
    {
        var left = deadline - Environment.TickCount64;
        return left > 0 ? (int)Math.Min(left, int.MaxValue) : throw new TimeoutException("no answer within the timeout");
    }

    private PlainHttpAnswer Read(Socket socket, long deadline, out bool keepAlive)
    {
        while (true)
        {
            var head = ReadHead(socket, deadline);
            var status = ParseStatus(head);
            string? contentType = null;
            string? retryAfter = null;
            long contentLength = -1;
            var chunked = false;
            var close = false;
            // The header lines as spans of the head, names compared by hand: the export thread reads
            // an answer every few milliseconds under load, and splitting, trimming and comparing
            // with the framework's string methods made the JIT compile a dozen of them again, with
            // instrumentation and then optimized, in the app's first seconds.
            var rest = head.AsSpan();
            var lineEnd = rest.IndexOf('\n');
            rest = lineEnd < 0 ? default : rest[(lineEnd + 1)..];
            while (!rest.IsEmpty)
            {
                lineEnd = rest.IndexOf('\n');
                var line = lineEnd < 0 ? rest : rest[..lineEnd];
                rest = lineEnd < 0 ? default : rest[(lineEnd + 1)..];
                if (!line.IsEmpty && line[^1] == '\r')
                {
                    line = line[..^1];
                }

                var colon = line.IndexOf(':');
                if (colon <= 0)
                {
                    continue;
                }

                var name = Whitespace.TrimOws(line[..colon]);
                var value = Whitespace.TrimOws(line[(colon + 1)..]);
                if (AsciiEqualsIgnoreCase(name, "content-length"))
                {
                    contentLength = ParseLength(value);
                }
                else if (AsciiEqualsIgnoreCase(name, "transfer-encoding"))
                {
                    chunked = AsciiContainsIgnoreCase(value, "chunked");
                }
                else if (AsciiEqualsIgnoreCase(name, "connection"))
                {
                    close = AsciiContainsIgnoreCase(value, "close");
                }
                else if (AsciiEqualsIgnoreCase(name, "content-type"))
                {
                    contentType = value.ToString();
                }
                else if (AsciiEqualsIgnoreCase(name, "retry-after"))
                {
                    retryAfter = value.ToString();
                }
            }

            // An interim answer (100 Continue, 103 Early Hints) comes before the real one.
            if (status is >= 100 and < 200)
            {
                continue;
            }

            var body = new BodyReader(this, socket, deadline);
            bool complete;
            if (status is 204 or 304)
            {
                complete = true;
            }
            else if (chunked)
            {
                complete = body.ReadChunked();
            }
            else if (contentLength >= 0)
            {
                complete = body.ReadLength(contentLength);
            }
            else
            {
                // No length: the answer ends when the collector closes the connection.
                complete = body.ReadToEnd();
                close = true;
            }

            // Bytes after the answer were not asked for: the connection's state is unknown.
            keepAlive = complete && !close && _start == _end;
            return new PlainHttpAnswer(status, contentType, retryAfter, body.Kept, complete);
        }
    }

    /// <summary>Whether <paramref name="text"/> is <paramref name="lowerCase"/> (ASCII, lower case) in any case.</summary>
    internal static bool AsciiEqualsIgnoreCase(ReadOnlySpan<char> text, string lowerCase)
    {
        if (text.Length != lowerCase.Length)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != lowerCase[i] && !(c is >= 'A' and <= 'Z' && (char)(c | 0x20) == lowerCase[i]))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool AsciiContainsIgnoreCase(ReadOnlySpan<char> text, string lowerCase)
    {
        for (var at = 0; at + lowerCase.Length <= text.Length; at++)
        {
            if (AsciiEqualsIgnoreCase(text.Slice(at, lowerCase.Length), lowerCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A Content-Length: decimal digits only.</summary>
    private static long ParseLength(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > 18)
        {
            throw new IOException("the collector's answer has a malformed Content-Length");
        }

        long length = 0;
        foreach (var c in value)
        {
            if (c is < '0' or > '9')
            {
                throw new IOException("the collector's answer has a malformed Content-Length");
            }

            length = (length * 10) + (c - '0');
        }

        return length;
    }

    private static int ParseStatus(string head)
    {
        // "HTTP/1.1 200 OK": HTTP/1.0 answers too.
        if (head.Length >= 12 && head.StartsWith("HTTP/1.", StringComparison.Ordinal) && head[8] == ' '
            && head[9] is >= '1' and <= '9' && head[10] is >= '0' and <= '9' && head[11] is >= '0' and <= '9')
        {
            return ((head[9] - '0') * 100) + ((head[10] - '0') * 10) + (head[11] - '0');
        }

        throw new IOException("the collector's answer is not HTTP/1.1");
    }

    // The status line and headers, up to the empty line; what follows stays in the buffer. An
    // answer's head nearly always comes in the read that starts it: the list that gathers one split
    // across reads is made only then, not for every export (nor compiled, a framework generic over
    // bytes, at a process's first export).
    private string ReadHead(Socket socket, long deadline)
    {
        List<byte>? head = null;
        while (true)
        {
            var window = _buffer.AsSpan(_start, _end - _start);
            var end = HeadEnd(window);
            if (end >= 0 && head is null)
            {
                _start += end + 4;
                return Encoding.Latin1.GetString(window[..end]);
            }

            if (end >= 0)
            {
                head!.AddRange(window[..end]);
                _start += end + 4;
                return Encoding.Latin1.GetString(CollectionsMarshal.AsSpan(head));
            }

            // Keep the last three bytes: the empty line may straddle two reads.
            var take = Math.Max(0, window.Length - 3);
            if (take > 0)
            {
                head ??= new List<byte>();
                head.AddRange(window[..take]);
                _start += take;
                if (head.Count > MaxHeaderBytes)
                {
                    throw new IOException(string.Create(CultureInfo.InvariantCulture, $"the collector's answer has more than {MaxHeaderBytes} bytes of headers"));
                }
            }

            Fill(socket, deadline, required: true);
        }
    }

    // Where the empty line after the headers starts ("\r\n\r\n"), -1 if not yet read: found from
    // the line ends, with the single-byte search the app's own HTTP stack already uses, not the
    // framework's sequence search, which the JIT would compile twice for the export alone.
    private static int HeadEnd(ReadOnlySpan<byte> window)
    {
        var from = 0;
        while (true)
        {
            var newline = window[from..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                return -1;
            }

            var at = from + newline;
            if (at >= 3 && window[at - 1] == '\r' && window[at - 2] == '\n' && window[at - 3] == '\r')
            {
                return at - 3;
            }

            from = at + 1;
        }
    }

    // Reads more after what is buffered; false at the end of the stream when it is allowed.
    private bool Fill(Socket socket, long deadline, bool required)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (TimeoutFor(Remaining(deadline), ref _receiveTimeout, _timeoutSlack) is var receive and > 0)
        {
            socket.ReceiveTimeout = receive;
        }

        var read = socket.Receive(_buffer.AsSpan(_end));
        if (read == 0)
        {
            return required ? throw new IOException("the collector closed the connection before its answer ended") : false;
        }

        _end += read;
        return true;
    }

    /// <summary>Reads a body, bounded: its first <see cref="OtlpResponse.MaxKeptBytes"/> are kept, and at most <see cref="OtlpResponse.MaxReadBytes"/> read.</summary>
    private ref struct BodyReader
    {
        private readonly PlainHttpClient _client;
        private readonly Socket _socket;
        private readonly long _deadline;
        private MemoryStream? _kept;
        private long _total;

        public BodyReader(PlainHttpClient client, Socket socket, long deadline)
        {
            _client = client;
            _socket = socket;
            _deadline = deadline;
        }

        public readonly byte[] Kept => _kept?.ToArray() ?? [];

        public bool ReadLength(long length)
        {
            if (length > OtlpResponse.MaxReadBytes)
            {
                return false;
            }

            while (length > 0)
            {
                if (_client._start == _client._end)
                {
                    _client.Fill(_socket, _deadline, required: true);
                }

                var take = (int)Math.Min(length, _client._end - _client._start);
                Keep(_client._buffer.AsSpan(_client._start, take));
                _client._start += take;
                length -= take;
            }

            return true;
        }

        public bool ReadToEnd()
        {
            while (true)
            {
                var take = _client._end - _client._start;
                Keep(_client._buffer.AsSpan(_client._start, take));
                _client._start = _client._end;
                if (_total > OtlpResponse.MaxReadBytes)
                {
                    return false;
                }

                if (!_client.Fill(_socket, _deadline, required: false))
                {
                    return true;
                }
            }
        }

        public bool ReadChunked()
        {
            while (true)
            {
                var line = ReadLine();
                var semicolon = line.IndexOf(';', StringComparison.Ordinal);
                var size = semicolon >= 0 ? line[..semicolon].Trim() : line.Trim();
                if (!long.TryParse(size, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var length) || length < 0)
                {
                    throw new IOException("the collector's answer has a malformed chunk");
                }

                if (length == 0)
                {
                    // Trailers, if any, up to the empty line.
                    while (ReadLine().Length > 0)
                    {
                    }

                    return true;
                }

                if (_total + length > OtlpResponse.MaxReadBytes || !ReadLength(length))
                {
                    return false;
                }

                if (ReadLine().Length != 0)
                {
                    throw new IOException("the collector's answer has a malformed chunk");
                }
            }
        }

        private string ReadLine()
        {
            var line = new StringBuilder();
            while (true)
            {
                var window = _client._buffer.AsSpan(_client._start, _client._end - _client._start);
                var end = window.IndexOf((byte)'\n');
                if (end >= 0)
                {
                    line.Append(Encoding.Latin1.GetString(window[..end]));
                    _client._start += end + 1;
                    return line.ToString().TrimEnd('\r');
                }

                line.Append(Encoding.Latin1.GetString(window));
                _client._start = _client._end;
                if (line.Length > 4096)
                {
                    throw new IOException("the collector's answer has a malformed chunk");
                }

                _client.Fill(_socket, _deadline, required: true);
            }
        }

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            _total += bytes.Length;
            if (bytes.IsEmpty)
            {
                return;
            }

            _kept ??= new MemoryStream();
            var room = OtlpResponse.MaxKeptBytes - (int)_kept.Length;
            if (room > 0)
            {
                _kept.Write(bytes[..Math.Min(room, bytes.Length)]);
            }
        }
    }

    private void Close()
    {
        _socket?.Dispose();
        _socket = null;
        _start = _end = 0;
    }

    public void Dispose() => Close();
}

/// <summary>What a collector answered: the status, the two headers the exporter reads, and the body's first bytes.</summary>
internal readonly record struct PlainHttpAnswer(int Status, string? ContentType, string? RetryAfter, byte[] Body, bool Complete);
