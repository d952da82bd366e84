using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TraceAgent.IntegrationTests.Infrastructure;

namespace TraceAgent.IntegrationTests.Http;

/// <summary>
/// What the W3C Trace Context test suite (w3c/trace-context, test/, Level 1 and 2, strict level 2)
/// checks, asserted here against the test web app under the agent, the way that suite drives a
/// service: the test sends one request with chosen headers to <c>POST /test</c>, the app calls back
/// the URLs named in the body, and the callbacks' traceparent and tracestate are examined.
/// Requests are written byte for byte on a socket, so repeated headers, odd names and whitespace
/// reach the app exactly as written. docs/reliability.md records the run of the suite itself.
/// </summary>
public sealed class W3cTraceContextTests : IClassFixture<W3cTraceContextTests.Service>
{
    private const string TraceId = "12345678901234567890123456789012";
    private const string ValidParent = "00-12345678901234567890123456789012-1234567890123456-01";
    private const string UnsampledParent = "00-12345678901234567890123456789012-1234567890123456-00";
    private readonly Service _service;

    public W3cTraceContextTests(Service service)
    {
        _service = service;
    }

    [Fact]
    public async Task Without_headers_a_new_trace_starts_and_is_marked_random()
    {
        var (traceParent, _) = await SendOneAsync();
        Assert.NotEqual(TraceId, traceParent.TraceId);

        // Level 2: a trace the agent starts has a random trace id, and says so.
        Assert.Equal(0x02, traceParent.Flags & 0x02);
    }

    [Fact]
    public async Task A_valid_traceparent_is_continued_with_a_new_parent_id()
    {
        var (traceParent, _) = await SendOneAsync(("traceparent", ValidParent));
        Assert.Equal(TraceId, traceParent.TraceId);
        Assert.NotEqual("1234567890123456", traceParent.ParentId);
    }

    [Fact]
    public async Task Two_traceparent_headers_start_a_new_trace()
    {
        var (traceParent, _) = await SendOneAsync(
            ("traceparent", "00-12345678901234567890123456789011-1234567890123456-01"),
            ("traceparent", ValidParent));
        Assert.NotEqual("12345678901234567890123456789011", traceParent.TraceId);
        Assert.NotEqual(TraceId, traceParent.TraceId);
    }

    [Theory]
    [InlineData("trace-parent")]
    [InlineData("trace.parent")]
    public async Task A_misnamed_traceparent_is_not_read(string name)
    {
        var (traceParent, _) = await SendOneAsync((name, ValidParent));
        Assert.NotEqual(TraceId, traceParent.TraceId);
    }

    [Theory]
    [InlineData("TraceParent")]
    [InlineData("TrAcEpArEnT")]
    [InlineData("TRACEPARENT")]
    public async Task The_traceparent_name_is_case_insensitive(string name)
    {
        var (traceParent, _) = await SendOneAsync((name, ValidParent));
        Assert.Equal(TraceId, traceParent.TraceId);
    }

    [Theory]
    // Leading and trailing optional whitespace is not part of the value.
    [InlineData(" 00-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("\t00-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-01 ")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-01\t")]
    [InlineData("\t 00-12345678901234567890123456789012-1234567890123456-01 \t")]
    // A future version is read by the version-00 prefix when '-' or the end follows it.
    [InlineData("cc-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like")]
    public async Task Acceptable_traceparents_keep_the_trace_id(string value)
    {
        var (traceParent, _) = await SendOneAsync(("traceparent", value));
        Assert.Equal(TraceId, traceParent.TraceId);
    }

    [Theory]
    // Version 00 is exactly 55 characters.
    [InlineData("00-12345678901234567890123456789012-1234567890123456-01.")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like")]
    [InlineData("cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like")]
    // Version ff is forbidden; versions are two lower-case hex digits.
    [InlineData("ff-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData(".0-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("0.-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("000-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("0000-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("0-12345678901234567890123456789012-1234567890123456-01")]
    // Trace id: 32 lower-case hex digits, not all zero.
    [InlineData("00-.2345678901234567890123456789012-1234567890123456-01")]
    [InlineData("00-1234567890123456789012345678901.-1234567890123456-01")]
    [InlineData("00-123456789012345678901234567890123-1234567890123456-01")]
    [InlineData("00-1234567890123456789012345678901-1234567890123456-01")]
    // Parent id: 16 lower-case hex digits, not all zero.
    [InlineData("00-12345678901234567890123456789012-0000000000000000-01")]
    [InlineData("00-12345678901234567890123456789012-.234567890123456-01")]
    [InlineData("00-12345678901234567890123456789012-123456789012345.-01")]
    [InlineData("00-12345678901234567890123456789012-12345678901234567-01")]
    [InlineData("00-12345678901234567890123456789012-123456789012345-01")]
    // Flags: two lower-case hex digits.
    [InlineData("00-12345678901234567890123456789012-1234567890123456-.0")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-0.")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-001")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-1")]
    public async Task An_invalid_traceparent_starts_a_new_trace(string value)
    {
        var (traceParent, _) = await SendOneAsync(("traceparent", value));
        Assert.NotEqual(TraceId, traceParent.TraceId);
        Assert.NotEqual("23456789012345678901234567890123", traceParent.TraceId);
    }

    [Fact]
    public async Task An_all_zero_trace_id_is_never_sent_on()
    {
        var (traceParent, _) = await SendOneAsync(("traceparent", "00-00000000000000000000000000000000-1234567890123456-01"));
        Assert.NotEqual(new string('0', 32), traceParent.TraceId);
    }

    [Fact]
    public async Task The_random_flag_of_a_continued_trace_is_kept()
    {
        // Level 2: a participant that keeps the trace id keeps the random-trace-id flag as it came.
        var (traceParent, _) = await SendOneAsync(("traceparent", "00-12345678901234567890123456789012-1234567890123456-02"));
        Assert.Equal(TraceId, traceParent.TraceId);
        Assert.NotEqual("1234567890123456", traceParent.ParentId);
        Assert.Equal(0x02, traceParent.Flags & 0x02);

        // ... and an unset flag stays unset: this trace id may not be random.
        (traceParent, _) = await SendOneAsync(("traceparent", ValidParent));
        Assert.Equal(0, traceParent.Flags & 0x02);
    }

    [Fact]
    public async Task A_tracestate_without_traceparent_is_dropped()
    {
        var (_, one) = await SendOneAsync(("tracestate", "foo=1"));
        var (_, two) = await SendOneAsync(("tracestate", "foo=1,bar=2"));
        Assert.False(one.ContainsKey("foo"));
        Assert.Equal(one.Count, two.Count);
    }

    [Fact]
    public async Task A_tracestate_with_its_traceparent_is_passed_on()
    {
        var (traceParent, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", "foo=1,bar=2"));
        Assert.Equal(TraceId, traceParent.TraceId);
        Assert.Equal("1", state["foo"]);
        Assert.Equal("2", state["bar"]);
    }

    [Theory]
    [InlineData("trace-state")]
    [InlineData("trace.state")]
    public async Task A_misnamed_tracestate_is_not_read(string name)
    {
        var (_, state) = await SendOneAsync(("traceparent", UnsampledParent), (name, "foo=1"));
        Assert.False(state.ContainsKey("foo"));
    }

    [Theory]
    [InlineData("TraceState")]
    [InlineData("TrAcEsTaTe")]
    [InlineData("TRACESTATE")]
    public async Task The_tracestate_name_is_case_insensitive(string name)
    {
        var (_, state) = await SendOneAsync(("traceparent", UnsampledParent), (name, "foo=1"));
        Assert.Equal("1", state["foo"]);
    }

    [Fact]
    public async Task Empty_tracestate_headers_neither_break_the_trace_nor_the_other_headers()
    {
        var (traceParent, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", ""));
        Assert.Equal(TraceId, traceParent.TraceId);
        Assert.Empty(state);

        (traceParent, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", "foo=1"), ("tracestate", ""));
        Assert.Equal(TraceId, traceParent.TraceId);
        Assert.Equal("1", state["foo"]);

        (traceParent, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", ""), ("tracestate", "foo=1"));
        Assert.Equal(TraceId, traceParent.TraceId);
        Assert.Equal("1", state["foo"]);
    }

    [Fact]
    public async Task Several_tracestate_headers_are_combined_in_order()
    {
        var (_, state) = await SendOneAsync(
            ("traceparent", UnsampledParent),
            ("tracestate", "foo=1,bar=2"),
            ("tracestate", "rojo=1,congo=2"),
            ("tracestate", "baz=3"));
        Assert.Equal(["foo=1", "bar=2", "rojo=1", "congo=2", "baz=3"], state.Select(m => m.Key + "=" + m.Value));
    }

    [Theory]
    [InlineData("foo=1,foo=1")]
    [InlineData("foo=1,foo=2")]
    public async Task A_duplicated_key_keeps_one_of_its_values(string value)
    {
        var (traceParent, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", value));
        Assert.Equal(TraceId, traceParent.TraceId);
        Assert.Contains(state["foo"], new[] { "1", "2" });

        (_, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", value[..5]), ("tracestate", value[6..]));
        Assert.Contains(state["foo"], new[] { "1", "2" });
    }

    [Fact]
    public async Task Every_allowed_key_and_value_character_is_passed_on()
    {
        const string Key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
        var value = new StringBuilder();
        for (var c = (char)0x20; c <= 0x7E; c++)
        {
            if (c is not ',' and not '=')
            {
                value.Append(c);
            }
        }

        foreach (var key in new[] { Key, Key + "@a-z0-9_-*/" })
        {
            var (_, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", key + "=" + value));
            Assert.Equal(value.ToString(), state[key]);
        }
    }

    [Theory]
    [InlineData("foo=1 \t , \t bar=2, \t baz=3")]
    [InlineData("foo=1\t \t,\t \tbar=2,\t \tbaz=3")]
    [InlineData(" foo=1")]
    [InlineData("\tfoo=1")]
    [InlineData("foo=1 ")]
    [InlineData("foo=1\t")]
    [InlineData("\t foo=1 \t")]
    public async Task Whitespace_around_tracestate_members_is_not_part_of_them(string value)
    {
        var (traceParent, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", value));
        Assert.Equal(TraceId, traceParent.TraceId);
        Assert.Equal("1", state["foo"]);
        if (value.Contains("bar", StringComparison.Ordinal))
        {
            Assert.Equal("2", state["bar"]);
            Assert.Equal("3", state["baz"]);
        }
    }

    [Theory]
    // Keys are lower-case letters, digits and _ - * / @; a space, upper case or '.' is illegal.
    [InlineData("foo =1", "foo ")]
    [InlineData("FOO=1", "FOO")]
    [InlineData("foo.bar=1", "foo.bar")]
    // A key starts with a letter or a digit: one illegal member discards the whole header.
    [InlineData("@foo=1,bar=2", "bar")]
    // Values: no '=' inside, and not empty.
    [InlineData("foo=bar=baz", "foo")]
    [InlineData("foo=,bar=3", "bar")]
    public async Task An_illegal_member_discards_the_whole_tracestate(string value, string absentKey)
    {
        var (_, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", value));
        Assert.False(state.ContainsKey(absentKey));
        Assert.False(state.ContainsKey("foo"));
    }

    [Theory]
    [InlineData("foo@")]
    [InlineData("foo@@bar")]
    [InlineData("foo@bar@baz")]
    public async Task At_signs_may_appear_anywhere_in_a_key_but_first(string key)
    {
        var (_, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", key + "=1,bar=2"));
        Assert.Equal("1", state[key]);
        Assert.Equal("2", state["bar"]);
    }

    [Fact]
    public async Task Thirty_two_members_are_passed_on_and_thirty_three_are_dropped()
    {
        static string Members(int from, int to) =>
            string.Join(',', Enumerable.Range(from, to - from + 1).Select(i => string.Create(CultureInfo.InvariantCulture, $"bar{i:00}={i:00}")));

        var (_, state) = await SendOneAsync(
            ("traceparent", UnsampledParent),
            ("tracestate", Members(1, 10)),
            ("tracestate", Members(11, 20)),
            ("tracestate", Members(21, 30)),
            ("tracestate", Members(31, 32)));
        Assert.Equal(32, state.Count);
        Assert.Equal("01", state["bar01"]);

        (_, state) = await SendOneAsync(
            ("traceparent", UnsampledParent),
            ("tracestate", Members(1, 10)),
            ("tracestate", Members(11, 20)),
            ("tracestate", Members(21, 30)),
            ("tracestate", Members(31, 33)));
        Assert.False(state.ContainsKey("bar01"));
    }

    [Theory]
    [InlineData(256, true)]
    [InlineData(257, false)]
    public async Task A_key_has_at_most_256_characters(int length, bool kept)
    {
        var key = new string('z', length);
        var (_, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", "foo=1"), ("tracestate", key + "=1"));
        Assert.Equal(kept, state.ContainsKey("foo"));
        Assert.Equal(kept, state.ContainsKey(key));
    }

    [Theory]
    [InlineData(241, 14)]
    [InlineData(242, 1)]
    [InlineData(1, 15)]
    public async Task Keys_with_an_at_sign_count_against_the_same_256_characters(int before, int after)
    {
        var key = new string('t', before) + "@" + new string('v', after);
        var (_, state) = await SendOneAsync(("traceparent", UnsampledParent), ("tracestate", "foo=1"), ("tracestate", key + "=1"));
        Assert.Equal("1", state["foo"]);
        Assert.Equal("1", state[key]);
    }

    [Theory]
    [InlineData(ValidParent, true)]
    [InlineData(null, false)]
    [InlineData("00-00000000000000000000000000000000-1234567890123456-01", false)]
    public async Task Several_outgoing_calls_share_the_trace_and_each_has_its_own_parent_id(string? traceParent, bool continued)
    {
        var callbacks = await _service.SendAsync(traceParent is null ? [] : [("traceparent", traceParent)], callbacks: 3);
        var parsed = callbacks.Select(c => Parse(c.TraceParent)).ToList();
        Assert.Single(parsed.Select(p => p.TraceId).Distinct());
        Assert.Equal(3, parsed.Select(p => p.ParentId).Distinct().Count());
        Assert.Equal(continued, parsed[0].TraceId == TraceId);
        Assert.NotEqual(new string('0', 32), parsed[0].TraceId);
    }

    private async Task<(TraceParentValue TraceParent, OrderedDictionary<string, string> TraceState)> SendOneAsync(params (string Name, string Value)[] headers)
    {
        var callback = Assert.Single(await _service.SendAsync(headers, callbacks: 1));
        return (Parse(callback.TraceParent), ParseTraceState(callback.TraceStates));
    }

    private static TraceParentValue Parse(string? value)
    {
        // The agent must send exactly one version-00 traceparent in lower-case hex.
        Assert.NotNull(value);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$", value);
        return new TraceParentValue(value[3..35], value[36..52], int.Parse(value[53..], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }

    // The members of every tracestate header sent, in order; a later duplicate of a key is ignored.
    private static OrderedDictionary<string, string> ParseTraceState(IReadOnlyList<string> headers)
    {
        var members = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var header in headers)
        {
            foreach (var member in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = member.IndexOf('=', StringComparison.Ordinal);
                Assert.True(equals > 0, "a tracestate member sent on must be key=value: " + member);
                var key = member[..equals];
                members.TryAdd(key, member[(equals + 1)..]);
            }
        }

        return members;
    }

    private sealed record TraceParentValue(string TraceId, string ParentId, int Flags);

    public sealed record Callback(string? TraceParent, IReadOnlyList<string> TraceStates);

    /// <summary>The web app under the agent, and the callback endpoint it calls onward.</summary>
    public sealed class Service : IAsyncLifetime
    {
        private readonly HttpListener _listener = new();
        private readonly Dictionary<string, TaskCompletionSource<Callback>> _pending = [];
        private readonly Lock _lock = new();
        private WebApp? _app;
        private string _callbackBase = "";
        private Task? _loop;

        public async Task InitializeAsync()
        {
            var port = TcpPort.FreePort();
            _callbackBase = "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture) + "/";
            _listener.Prefixes.Add(_callbackBase);
            _listener.Start();
            _loop = Task.Run(AcceptLoopAsync);
            _app = await WebApp.StartAsync("TestApplication.Web", new Dictionary<string, string?>
            {
                ["DOTNET_STARTUP_HOOKS"] = RepoPaths.StartupHookPath,
                ["OTEL_SERVICE_NAME"] = "w3c-test-service",
                ["OTEL_TRACES_EXPORTER"] = "none",
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
            });
        }

        /// <summary>Sends POST /test with the headers written as given, asking for that many callbacks.</summary>
        public async Task<IReadOnlyList<Callback>> SendAsync(IReadOnlyList<(string Name, string Value)> headers, int callbacks)
        {
            var scope = Guid.NewGuid().ToString("N");
            var waits = new List<Task<Callback>>();
            var body = new StringBuilder("[");
            for (var i = 0; i < callbacks; i++)
            {
                var path = scope + "." + i.ToString(CultureInfo.InvariantCulture);
                var waiter = new TaskCompletionSource<Callback>(TaskCreationOptions.RunContinuationsAsynchronously);
                lock (_lock)
                {
                    _pending[path] = waiter;
                }

                waits.Add(waiter.Task);
                body.Append(i == 0 ? "" : ",").Append("{\"url\":\"").Append(_callbackBase).Append(path).Append("\",\"arguments\":[]}");
            }

            body.Append(']');
            var status = await PostRawAsync(_app!.Port, "/test", headers, body.ToString());
            Assert.Equal(200, status);
            return await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(30));
        }

        // HTTP/1.1 written by hand: HttpClient would merge repeated headers and trim or refuse
        // some of the values this suite must send as they are.
        private static async Task<int> PostRawAsync(int port, string path, IReadOnlyList<(string Name, string Value)> headers, string body)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            var bytes = Encoding.UTF8.GetBytes(body);
            var request = new StringBuilder();
            request.Append("POST ").Append(path).Append(" HTTP/1.1\r\n");
            request.Append("Host: 127.0.0.1:").Append(port.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
            request.Append("Content-Type: application/json\r\n");
            request.Append("Content-Length: ").Append(bytes.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
            request.Append("Connection: close\r\n");
            foreach (var (name, value) in headers)
            {
                request.Append(name).Append(": ").Append(value).Append("\r\n");
            }

            request.Append("\r\n");
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()));
            await stream.WriteAsync(bytes);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.NotNull(statusLine);
            return int.Parse(statusLine.Split(' ')[1], CultureInfo.InvariantCulture);
        }

        private async Task AcceptLoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                var path = context.Request.Url!.AbsolutePath.TrimStart('/');
                var traceParent = context.Request.Headers.GetValues("traceparent");
                var traceStates = context.Request.Headers.GetValues("tracestate") ?? [];
                var callback = new Callback(traceParent is { Length: 1 } ? traceParent[0] : traceParent is null ? null : "(" + traceParent.Length + " traceparent headers)", traceStates);
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync("null"u8.ToArray());
                context.Response.Close();
                TaskCompletionSource<Callback>? waiter;
                lock (_lock)
                {
                    _pending.Remove(path, out waiter);
                }

                waiter?.TrySetResult(callback);
            }
        }

        public async Task DisposeAsync()
        {
            _app?.Dispose();
            _listener.Stop();
            _listener.Close();
            if (_loop is not null)
            {
                await _loop;
            }
        }
    }
}
