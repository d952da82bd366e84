using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TraceAgent.Export;
using TraceAgent.Export.Transport;

namespace TraceAgent.Tests.Export;

/// <summary>
/// The exporter's own HTTP/1.1 client against a scripted server on a real socket: what goes on the
/// wire, every framing an answer may use, and connections the collector closes or never answers on.
/// </summary>
public sealed class PlainHttpClientTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly TcpListener _server = new(IPAddress.Loopback, 0);

    public PlainHttpClientTests() => _server.Start();

    private Uri Endpoint => new($"http://127.0.0.1:{((IPEndPoint)_server.LocalEndpoint).Port}/otlp/v1/traces");

    public void Dispose() => _server.Stop();

    [Fact]
    public async Task A_request_carries_the_agents_headers_the_users_and_the_body_and_two_requests_share_a_connection()
    {
        using var client = new PlainHttpClient(Endpoint, "application/x-protobuf", "gzip", "TraceAgent-Exporter-Dotnet/1.0",
            [new("api-key", "secret-1"), new("bad", "a\r\nInjected: yes"), new("bad name", "x")], 5000);
        var server = Task.Run(async () =>
        {
            using var connection = await _server.AcceptSocketAsync();
            var first = await ReceiveRequestAsync(connection);
            await SendAsync(connection, "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n");
            var second = await ReceiveRequestAsync(connection);
            await SendAsync(connection, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
            return (first, second);
        });

        var one = client.Post([], "hello"u8, Timeout, CancellationToken.None);
        var two = client.Post([9, 9], "world!"u8, Timeout, CancellationToken.None);
        var (head, body) = (await server.WaitAsync(Timeout)).first;
        var (secondHead, secondBody) = (await server).second;

        Assert.Equal(
            [
                "POST /otlp/v1/traces HTTP/1.1",
                "Host: " + Endpoint.Authority,
                "User-Agent: TraceAgent-Exporter-Dotnet/1.0",
                "Content-Type: application/x-protobuf",
                "Content-Encoding: gzip",
                "api-key: secret-1",
                "Content-Length: 5",
            ],
            head);
        Assert.Equal("hello", body);
        Assert.Equal("Content-Length: 8", secondHead[^1]);
        Assert.Equal("\t\tworld!", secondBody);
        Assert.Equal((200, "application/x-protobuf", 0), (one.Status, one.ContentType, one.Body.Length));
        Assert.Equal((200, "abc", true), (two.Status, Encoding.ASCII.GetString(two.Body), two.Complete));
    }

    /// <summary>
    /// A connection older than its lifetime (2 minutes in the agent, so that a collector behind a
    /// name that moved is found again) is closed before the next request, which goes on a new one.
    /// </summary>
    [Fact]
    public async Task A_connection_past_its_lifetime_is_replaced_before_the_next_request()
    {
        using var client = new PlainHttpClient(Endpoint, "application/x-protobuf", null, null, [], 5000) { ConnectionLifetime = TimeSpan.Zero };
        var server = Task.Run(async () =>
        {
            using var first = await _server.AcceptSocketAsync();
            var one = await ReceiveRequestAsync(first);
            await SendAsync(first, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            using var second = await _server.AcceptSocketAsync();
            var two = await ReceiveRequestAsync(second);
            await SendAsync(second, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

            // The client closed the first connection itself: it reads as ended.
            var closed = await first.ReceiveAsync(new byte[1], SocketFlags.None) == 0;
            return (one.Body, two.Body, closed);
        });

        var answers = new[] { client.Post([], "one"u8, Timeout, CancellationToken.None), client.Post([], "two"u8, Timeout, CancellationToken.None) };

        Assert.Equal(("one", "two", true), await server.WaitAsync(Timeout));
        Assert.All(answers, a => Assert.Equal(200, a.Status));
    }

    [Fact]
    public async Task A_body_larger_than_the_sockets_buffers_goes_whole_and_in_order()
    {
        // 4 MB cannot fit the connection's buffers: the writes wait for the server to read, and
        // the head, the prefix and the body must follow each other whole and in order. Both parts
        // are slices of larger arrays.
        using var client = new PlainHttpClient(Endpoint, "application/x-protobuf", null, null, [], 5000);
        var prefix = new byte[] { 1, 2, 3, 4, 5 };
        var payload = new byte[(4 * 1024 * 1024) + 20];
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)((i * 7) + (i >> 11));
        }

        var server = Task.Run(async () =>
        {
            using var connection = await _server.AcceptSocketAsync();
            var request = await ReceiveRequestAsync(connection);
            await SendAsync(connection, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            return request;
        });

        var answer = client.Post(prefix.AsSpan(1, 3), payload.AsSpan(7, payload.Length - 10), Timeout, CancellationToken.None);
        var (head, body) = await server.WaitAsync(Timeout);

        Assert.Equal(200, answer.Status);
        Assert.Equal("Content-Length: " + (3 + payload.Length - 10), head[^1]);
        Assert.Equal(Encoding.Latin1.GetString([.. prefix.AsSpan(1, 3), .. payload.AsSpan(7, payload.Length - 10)]), body);
    }

    [Fact]
    public async Task Chunked_answers_interim_answers_and_answers_ended_by_closing_are_read_whole()
    {
        using var client = new PlainHttpClient(Endpoint, "application/x-protobuf", null, null, [], 5000);
        var server = Task.Run(async () =>
        {
            using (var connection = await _server.AcceptSocketAsync())
            {
                await ReceiveRequestAsync(connection);

                // An interim answer, then a chunked one split across writes, with an extension and a trailer.
                await SendAsync(connection, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nslow\r");
                await Task.Delay(50);
                await SendAsync(connection, "\n5\r\n down\r\n0\r\nX-Trailer: t\r\n\r\n");
                await ReceiveRequestAsync(connection);
                await SendAsync(connection, "HTTP/1.0 503 Service Unavailable\r\n\r\nread until closed");
            }

            // The first connection ended with its answer: the third request comes on a new one.
            using var next = await _server.AcceptSocketAsync();
            await ReceiveRequestAsync(next);
            await SendAsync(next, "HTTP/1.1 204 No Content\r\n\r\n");
        });

        var chunked = client.Post([], "a"u8, Timeout, CancellationToken.None);
        var toClose = client.Post([], "b"u8, Timeout, CancellationToken.None);
        var afterClose = client.Post([], "c"u8, Timeout, CancellationToken.None);
        await server.WaitAsync(Timeout);

        Assert.Equal((429, "7", "slow down", true), (chunked.Status, chunked.RetryAfter, Encoding.ASCII.GetString(chunked.Body), chunked.Complete));
        Assert.Equal((503, "read until closed"), (toClose.Status, Encoding.ASCII.GetString(toClose.Body)));
        Assert.Equal(204, afterClose.Status);
    }

    [Fact]
    public async Task A_connection_the_collector_closed_while_idle_is_replaced_and_the_request_arrives()
    {
        using var client = new PlainHttpClient(Endpoint, "application/x-protobuf", null, null, [], 5000);
        var closed = new TaskCompletionSource();
        var server = Task.Run(async () =>
        {
            var bodies = new List<string>();
            using (var connection = await _server.AcceptSocketAsync())
            {
                bodies.Add((await ReceiveRequestAsync(connection)).Body);
                await SendAsync(connection, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            }

            // Closed without a word, as the idle timeout of a collector or a load balancer does.
            closed.SetResult();
            using var next = await _server.AcceptSocketAsync();
            bodies.Add((await ReceiveRequestAsync(next)).Body);
            await SendAsync(next, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            return bodies;
        });

        Assert.Equal(200, client.Post([], "first"u8, Timeout, CancellationToken.None).Status);
        await closed.Task.WaitAsync(Timeout);
        Assert.Equal(200, client.Post([], "second"u8, Timeout, CancellationToken.None).Status);
        Assert.Equal(["first", "second"], await server.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_collector_that_never_answers_is_given_up_at_the_timeout_and_a_shutdown_stops_the_wait()
    {
        using var client = new PlainHttpClient(Endpoint, "application/x-protobuf", null, null, [], 5000);
        var accepted = Task.Run(async () =>
        {
            var connections = new List<Socket>();
            for (var i = 0; i < 2; i++)
            {
                connections.Add(await _server.AcceptSocketAsync());
            }

            return connections;
        });

        var watch = Stopwatch.StartNew();
        Assert.Throws<TimeoutException>(() => client.Post([], "x"u8, TimeSpan.FromMilliseconds(300), CancellationToken.None));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), Timeout);

        using var shutdown = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        Assert.ThrowsAny<OperationCanceledException>(() => client.Post([], "y"u8, Timeout, shutdown.Token));
        foreach (var connection in await accepted.WaitAsync(Timeout))
        {
            connection.Dispose();
        }
    }

    [Theory]
    // None yet: set a little under the time left.
    [InlineData(0, 10_000, 9_950)]
    // The next request on the connection, or later calls of the same one: left as it is.
    [InlineData(9_950, 10_000, 0)]
    [InlineData(9_950, 9_960, 0)]
    [InlineData(9_950, 9_950, 0)]
    // Less time left than a call could take: set again, under it, whatever the slack.
    [InlineData(9_950, 9_949, 9_899)]
    [InlineData(9_950, 300, 250)]
    [InlineData(250, 20, 1)]
    // Much more time left (a longer timeout than the last request's): set again.
    [InlineData(250, 10_000, 9_950)]
    public void A_socket_timeout_is_set_only_when_it_could_outlast_the_deadline_or_end_well_before_it(int current, int remaining, int expected)
    {
        var now = current;
        Assert.Equal(expected, PlainHttpClient.TimeoutFor(remaining, ref now, slack: 50));
        Assert.Equal(expected == 0 ? current : expected, now);
    }

    [Fact]
    public async Task A_shorter_timeout_on_a_kept_alive_connection_is_the_one_that_applies()
    {
        // The socket's timeouts stay on the connection from one request to the next: a request
        // with much less time must not inherit the earlier request's longer wait.
        using var client = new PlainHttpClient(Endpoint, "application/x-protobuf", null, null, [], 5000);
        var connection = Task.Run(async () =>
        {
            var accepted = await _server.AcceptSocketAsync();
            await ReceiveRequestAsync(accepted);
            await SendAsync(accepted, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            await ReceiveRequestAsync(accepted);
            return accepted;
        });

        Assert.Equal(200, client.Post([], "first"u8, Timeout, CancellationToken.None).Status);
        var watch = Stopwatch.StartNew();
        Assert.Throws<TimeoutException>(() => client.Post([], "second"u8, TimeSpan.FromMilliseconds(300), CancellationToken.None));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), Timeout / 2);
        (await connection.WaitAsync(Timeout)).Dispose();
    }

    [Fact]
    public async Task An_answer_whose_head_comes_in_pieces_split_inside_its_empty_line_is_read_whole_and_the_connection_kept()
    {
        using var client = new PlainHttpClient(Endpoint, "application/x-protobuf", null, null, [], 5000);
        var server = Task.Run(async () =>
        {
            using var connection = await _server.AcceptSocketAsync();
            await ReceiveRequestAsync(connection);
            await SendAsync(connection, "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Le");
            await Task.Delay(50);
            await SendAsync(connection, "ngth: 2\r\n\r");
            await Task.Delay(50);
            await SendAsync(connection, "\nok");

            // The next answer, whole, on the same connection: nothing of the first was left behind.
            await ReceiveRequestAsync(connection);
            await SendAsync(connection, "HTTP/1.1 202 Accepted\r\nContent-Length: 4\r\n\r\nnext");
        });

        var pieces = client.Post([], "a"u8, Timeout, CancellationToken.None);
        var whole = client.Post([], "b"u8, Timeout, CancellationToken.None);
        await server.WaitAsync(Timeout);

        Assert.Equal((200, "application/x-protobuf", "ok", true), (pieces.Status, pieces.ContentType, Encoding.ASCII.GetString(pieces.Body), pieces.Complete));
        Assert.Equal((202, "next", true), (whole.Status, Encoding.ASCII.GetString(whole.Body), whole.Complete));
    }

    [Fact]
    public async Task Header_names_are_read_in_any_case_and_a_close_among_other_tokens_ends_the_connection()
    {
        using var client = new PlainHttpClient(Endpoint, "application/x-protobuf", null, null, [], 5000);
        var server = Task.Run(async () =>
        {
            using (var connection = await _server.AcceptSocketAsync())
            {
                await ReceiveRequestAsync(connection);
                await SendAsync(connection, "HTTP/1.1 202 Accepted\r\ncOnTeNt-TyPe:  application/x-protobuf \r\nCONTENT-LENGTH: 3\r\nConnection: Keep-Alive, CLOSE\r\n\r\nabc");
            }

            // The answer said close: the next request comes on a new connection, whose answer has a
            // Content-Length that is not a number.
            using var next = await _server.AcceptSocketAsync();
            await ReceiveRequestAsync(next);
            await SendAsync(next, "HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc");
        });

        var first = client.Post([], "a"u8, Timeout, CancellationToken.None);
        var malformed = Assert.Throws<IOException>(() => client.Post([], "b"u8, Timeout, CancellationToken.None));
        await server.WaitAsync(Timeout);

        Assert.Equal((202, "application/x-protobuf", "abc", true), (first.Status, first.ContentType, Encoding.ASCII.GetString(first.Body), first.Complete));
        Assert.Contains("Content-Length", malformed.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Content-Length", "content-length", true)]
    [InlineData("CONTENT-LENGTH", "content-length", true)]
    [InlineData("content-lengt", "content-length", false)]
    [InlineData("content_length", "content-length", false)]
    [InlineData("Connection", "content-length", false)]
    [InlineData("\u212Aeep", "keep", false)] // the Kelvin sign: no ASCII letter matches it
    public void Names_compare_in_ascii_case_only(string text, string lowerCase, bool expected)
    {
        Assert.Equal(expected, PlainHttpClient.AsciiEqualsIgnoreCase(text, lowerCase));
        Assert.Equal(expected, PlainHttpClient.AsciiContainsIgnoreCase(" x" + text + ", ", lowerCase));
    }

    [Fact]
    public void A_refused_connection_is_a_socket_error_naming_the_address()
    {
        var endpoint = Endpoint;
        _server.Stop();
        using var client = new PlainHttpClient(endpoint, "application/x-protobuf", null, null, [], 5000);

        var error = Assert.Throws<SocketException>(() => client.Post([], "x"u8, Timeout, CancellationToken.None));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
        Assert.Contains(endpoint.Authority, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://collector:4318/v1/traces", false, true)]
    [InlineData("http://collector:4317", true, false)]
    [InlineData("https://collector:4318/v1/traces", false, false)]
    public void Only_plain_http_protobuf_is_sent_without_HttpClient(string endpoint, bool grpc, bool expected)
    {
        // (With a proxy in the environment HttpClient sends too: the end-to-end proxy test covers it.)
        Assert.Equal(expected, PlainHttpClient.CanSend(new Uri(endpoint), grpc));
    }

    [Fact]
    public void Retry_after_is_read_as_seconds_or_as_an_http_date()
    {
        Assert.Equal(TimeSpan.FromSeconds(7), OtlpExporter<Activity>.RetryAfter(" 7 "));
        var date = OtlpExporter<Activity>.RetryAfter(DateTimeOffset.UtcNow.AddSeconds(30).ToString("r", System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(date!.Value, TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(31));
        Assert.Equal(TimeSpan.Zero, OtlpExporter<Activity>.RetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"));
        Assert.Null(OtlpExporter<Activity>.RetryAfter("soon"));
        Assert.Null(OtlpExporter<Activity>.RetryAfter(null));
    }

    private static async Task SendAsync(Socket connection, string text) =>
        await connection.SendAsync(Encoding.Latin1.GetBytes(text), SocketFlags.None);

    // One request: its head's lines and its body (read by Content-Length).
    private static async Task<(string[] Head, string Body)> ReceiveRequestAsync(Socket connection)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        int headEnd;
        while ((headEnd = Encoding.Latin1.GetString([.. received]).IndexOf("\r\n\r\n", StringComparison.Ordinal)) < 0)
        {
            var read = await connection.ReceiveAsync(buffer, SocketFlags.None);
            Assert.True(read > 0, "the client closed before its request ended");
            received.AddRange(buffer.AsSpan(0, read));
        }

        var head = Encoding.Latin1.GetString([.. received], 0, headEnd).Split("\r\n");
        var length = int.Parse(head.Single(h => h.StartsWith("Content-Length: ", StringComparison.Ordinal))["Content-Length: ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        while (received.Count < headEnd + 4 + length)
        {
            var read = await connection.ReceiveAsync(buffer, SocketFlags.None);
            Assert.True(read > 0, "the client closed before its body ended");
            received.AddRange(buffer.AsSpan(0, read));
        }

        return (head, Encoding.Latin1.GetString([.. received], headEnd + 4, length));
    }
}
