using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Export.Transport;
using TraceAgent.Tracing;

namespace TraceAgent.Export;

/// <summary>
/// Sends OTLP over HTTP/protobuf or gRPC with the runtime's own HttpClient (gRPC is HTTP/2 with a
/// 5-byte message prefix and a grpc-status trailer, so no gRPC package is needed in the app). The
/// transport knows nothing of the signal beyond its gRPC service and the name of its items: TLS,
/// proxy, User-Agent, request splitting, bounded answers and partial success serve traces, logs and
/// metrics alike. Retries what the OTLP specification calls retryable, with backoff and
/// Retry-After, never past the deadline; everything else is dropped and counted by the caller.
/// </summary>
internal sealed class OtlpExporter<T> : IExporter<T>
{
    /// <summary>
    /// The largest request sent: gRPC servers (the OpenTelemetry Collector among them) refuse
    /// messages over 4 MiB by default. A larger batch goes out in several requests.
    /// </summary>
    public const int MaxRequestBytes = 4 * 1024 * 1024;

    private readonly OtlpExporterSettings _settings;
    private readonly ExportTlsState _tls;
    private readonly Action<ProtoWriter, IReadOnlyList<T>> _encode;
    private readonly ProtoWriter _writer = new();
    private readonly byte[] _readBuffer = new byte[4096];
    private readonly Uri _uri;
    private readonly string _shownUri;
    private readonly string _signal;
    private readonly string _items;
    private readonly bool _customUserAgent;
    private readonly int _maxRequestBytes;
    private HttpClient? _client;
    private PlainHttpClient? _plain;
    private bool _plainChecked;
    private MemoryStream? _compressed;
    private int _lastFailureStatus = -1;
    private string? _lastPartialMessage;
    private bool _oversizeReported;

    /// <param name="signal">"traces", "logs" or "metrics": names the gRPC service and the log lines.</param>
    public OtlpExporter(OtlpExporterSettings settings, Action<ProtoWriter, IReadOnlyList<T>> encode, string signal, ExportTls? tls = null, int maxRequestBytes = MaxRequestBytes)
    {
        _settings = settings;
        _tls = new ExportTlsState(tls ?? ExportTls.SystemTrust);
        _encode = encode;
        _signal = signal;
        _maxRequestBytes = maxRequestBytes;
        _items = signal switch
        {
            "logs" => "log records",
            "metrics" => "data points",
            _ => "spans",
        };
        _uri = settings.Protocol == OtlpProtocol.Grpc ? GrpcUri(settings.Endpoint, signal) : settings.Endpoint;
        _shownUri = EndpointDisplay.Of(_uri);
        for (var i = 0; i < settings.Headers.Count; i++)
        {
            _customUserAgent |= string.Equals(settings.Headers[i].Key, "User-Agent", StringComparison.OrdinalIgnoreCase);
        }
    }

    public string Description => (_settings.Protocol == OtlpProtocol.Grpc ? "otlp/grpc " : "otlp/http ") + _shownUri;

    // Made on the export thread at the first export, not at start-up: loading and setting up the
    // HTTP stack is then off the app's start-up path.
    private HttpClient Client => _client ??= ExportHttp.CreateClient(_settings.TimeoutMilliseconds, _tls);

    /// <summary>
    /// The gRPC method's URL. A path in the endpoint is kept as a prefix (a gateway may route by
    /// it): https://gw/otlp gives https://gw/otlp/opentelemetry.proto.collector.trace.v1.TraceService/Export.
    /// </summary>
    internal static Uri GrpcUri(Uri endpoint, string signal)
    {
        var service = signal switch
        {
            "logs" => "opentelemetry.proto.collector.logs.v1.LogsService",
            "metrics" => "opentelemetry.proto.collector.metrics.v1.MetricsService",
            _ => "opentelemetry.proto.collector.trace.v1.TraceService",
        };
        var prefix = endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return new Uri(prefix + "/" + service + "/Export");
    }

    public ExportResult Export(IReadOnlyList<T> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        _writer.Reset();
        _encode(_writer, batch);
        if (_writer.Length <= _maxRequestBytes)
        {
            return Send(Frame(_writer.WrittenMemory), deadlineUtc, cancellationToken);
        }

        if (batch.Count == 1)
        {
            return Oversized(_writer.Length);
        }

        // Halves until each part fits: every item arrives, in as few requests as it takes.
        var half = batch.Count / 2;
        var first = Export(new Slice(batch, 0, half), deadlineUtc, cancellationToken);
        var second = Export(new Slice(batch, half, batch.Count - half), deadlineUtc, cancellationToken);
        return ExportResult.Lost(first.LostOf(half) + second.LostOf(batch.Count - half));
    }

    private ExportResult Oversized(int bytes)
    {
        if (!_oversizeReported)
        {
            _oversizeReported = true;
            AgentLog.Warning(string.Create(CultureInfo.InvariantCulture, $"{_signal} export to {_shownUri}: one of the {_items} alone encodes to {bytes} bytes, more than a request may carry ({_maxRequestBytes} bytes); it is dropped (limit attribute values with OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT)"));
        }

        return ExportResult.Failure;
    }

    private ExportResult Send(Body body, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        var attempt = 0;
        var perAttempt = TimeSpan.FromMilliseconds(_settings.TimeoutMilliseconds);
        string? lastReason = null;
        while (true)
        {
            attempt++;
            var left = deadlineUtc - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return Fail(lastReason is null ? "the export deadline passed" : lastReason + ", and the export deadline passed before the next retry");
            }

            var cut = left < perAttempt;
            var answer = SendOnce(body, cut ? left : perAttempt, cancellationToken);
            if (cut && answer.TimedOut)
            {
                // The batch's bound (OTEL_BSP_EXPORT_TIMEOUT and its kin, or the exit's) ended the
                // attempt, not the OTLP timeout the usual line names.
                answer = answer with { Reason = "no answer before the batch's export deadline" };
            }

            if (answer.Outcome == Outcome.Success)
            {
                if (_lastFailureStatus != -1)
                {
                    _lastFailureStatus = -1;
                    AgentLog.Info($"{_signal} export to {_shownUri} works again");
                }

                return answer.Rejected > 0 || answer.PartialMessage.Length > 0 ? PartialSuccess(answer.Rejected, answer.PartialMessage) : ExportResult.Success;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return Fail(lastReason is null ? answer.Reason : lastReason + ", and the agent stopped during the next retry", givenUpAtExit: true);
            }

            if (answer.Outcome == Outcome.Permanent || attempt >= 5)
            {
                return Fail(answer.Reason);
            }

            // Exponential backoff with jitter (OTLP specification), or the server's Retry-After.
            var delay = answer.RetryAfter ?? TimeSpan.FromMilliseconds(Math.Min(8000, 250 * (1 << (attempt - 1))) * (0.5 + Random.Shared.NextDouble() / 2));
            if (DateTime.UtcNow + delay >= deadlineUtc)
            {
                return Fail(answer.Reason + ", and the next retry would pass the deadline");
            }

            // A batch given up at exit still names why it was being retried: a first failure
            // reported only as "shutting down" would hide the collector's answer.
            if (cancellationToken.WaitHandle.WaitOne(delay))
            {
                return Fail(answer.Reason + ", and the agent stopped before the next retry", givenUpAtExit: true);
            }

            lastReason = answer.Reason;
        }
    }

    // OTLP partial success: the request was accepted, the rejected items are lost (the caller
    // counts them) and the collector's message is worth one line, not one per batch.
    private ExportResult PartialSuccess(long rejected, string message)
    {
        if (!string.Equals(message, _lastPartialMessage, StringComparison.Ordinal))
        {
            _lastPartialMessage = message;
            var shown = message.Length > 300 ? message[..300] + "..." : message;
            AgentLog.Warning(rejected > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{_signal} export to {_shownUri}: the collector rejected {rejected} {_items} of a batch: {Printable(shown)}")
                : $"{_signal} export to {_shownUri}: the collector accepted the batch with a warning: {Printable(shown)}");
        }

        return rejected > int.MaxValue ? ExportResult.Failure : ExportResult.Lost((int)rejected);
    }

    private ExportResult Fail(string reason, bool givenUpAtExit = false)
    {
        // A batch given up at exit after failures already reported: the loss summary counts it.
        if (_lastFailureStatus != -1 && givenUpAtExit)
        {
            return ExportResult.Failure;
        }

        var status = reason.GetHashCode(StringComparison.Ordinal);
        if (status != _lastFailureStatus)
        {
            _lastFailureStatus = status;
            AgentLog.Warning($"{_signal} export to {_shownUri} failed: {reason}; the batch is dropped");
        }

        return ExportResult.Failure;
    }

    private enum Outcome
    {
        Success,
        Retryable,
        Permanent,
    }

    private readonly record struct Answer(Outcome Outcome, TimeSpan? RetryAfter, string Reason, long Rejected = 0, string PartialMessage = "", bool TimedOut = false)
    {
        public static Answer Ok(long rejected, string message) => new(Outcome.Success, null, string.Empty, rejected, message);
    }

    private Answer SendOnce(Body body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_plainChecked)
        {
            _plainChecked = true;
            if (PlainHttpClient.CanSend(_uri, _settings.Protocol == OtlpProtocol.Grpc))
            {
                _plain = new PlainHttpClient(_uri, "application/x-protobuf", _settings.Gzip ? "gzip" : null, _customUserAgent ? null : ExportHttp.UserAgentText, _settings.Headers, ExportHttp.ConnectTimeoutMilliseconds(_settings.TimeoutMilliseconds));
            }
        }

        // Kept apart: a process exporting to a plain-HTTP collector never loads HttpClient.
        return _plain is not null ? SendPlain(_plain, body, timeout, cancellationToken) : SendWithHttpClient(body, timeout, cancellationToken);
    }

    private Answer SendPlain(PlainHttpClient client, Body body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var answer = client.Post(body.Prefix, body.Payload.Span, timeout, cancellationToken);
            if (!answer.Complete && answer.Status is >= 200 and < 300)
            {
                // Too large to read: the status decides, as it does through HttpClient.
                return Answer.Ok(0, string.Empty);
            }

            return HttpOutcome(answer.Status, answer.ContentType, RetryAfter(answer.RetryAfter), answer.Body);
        }
        catch (TimeoutException)
        {
            return TimedOut();
        }
        catch (OperationCanceledException)
        {
            return new Answer(Outcome.Permanent, null, "shutting down");
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or ObjectDisposedException)
        {
            return new Answer(Outcome.Retryable, null, ex.Message);
        }
    }

    // The configured timeout, not what was left of the deadline: the same failure must read the
    // same every time to be logged once, not once per batch.
    private Answer TimedOut() =>
        new(Outcome.Retryable, null, string.Create(CultureInfo.InvariantCulture, $"no answer within the export timeout ({_settings.TimeoutMilliseconds} ms)"), TimedOut: true);

    private Answer SendWithHttpClient(Body body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, _uri);
        var content = new BodyContent(body);
        if (_settings.Protocol == OtlpProtocol.Grpc)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
            content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TryAddWithoutValidation("te", "trailers");

            // The server may give up when the client will: milliseconds, at most 8 digits.
            request.Headers.TryAddWithoutValidation("grpc-timeout", Math.Clamp((long)timeout.TotalMilliseconds, 1, 99_999_999).ToString(CultureInfo.InvariantCulture) + "m");
            if (_settings.Gzip)
            {
                request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");
            }
        }
        else
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            if (_settings.Gzip)
            {
                content.Headers.ContentEncoding.Add("gzip");
            }
        }

        request.Content = content;
        if (!_customUserAgent)
        {
            request.Headers.UserAgent.Add(ExportHttp.UserAgent);
        }

        foreach (var header in _settings.Headers)
        {
            request.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        _tls.ClientCertificateRequested = false;
        _tls.LastRejection = null;
        try
        {
            using (Suppression.Begin())
            {
                // Synchronous where the runtime allows it (HTTP/1.1: TLS or a proxy); gRPC needs
                // HTTP/2, which it sends asynchronously only, and the export thread waits for it.
                var grpc = _settings.Protocol == OtlpProtocol.Grpc;
                using var response = grpc
                    ? Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token).GetAwaiter().GetResult()
                    : Client.Send(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                var complete = OtlpResponse.TryReadBody(response, synchronous: !grpc, _readBuffer, cts.Token, out var answer);
                return grpc
                    ? GrpcOutcome(response, answer, complete)
                    : HttpOutcome((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, RetryAfter(response), answer);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TimedOut();
        }
        catch (OperationCanceledException)
        {
            return new Answer(Outcome.Permanent, null, "shutting down");
        }
        catch (HttpRequestException ex) when (IsTlsFailure(ex))
        {
            // A certificate that is not trusted today will not be trusted in a second: no retry.
            var why = _tls.LastRejection ?? Innermost(ex).Message;
            return new Answer(Outcome.Permanent, null, "TLS handshake failed: " + why);
        }
        catch (Exception ex) when ((ex is HttpRequestException or IOException) && _tls.ClientCertificateExplanation is { } explanation)
        {
            return new Answer(Outcome.Permanent, null, "TLS handshake failed: " + explanation);
        }
        catch (HttpRequestException ex)
        {
            return new Answer(Outcome.Retryable, null, ex.InnerException?.Message ?? ex.Message);
        }
        catch (IOException ex)
        {
            // The answer's body broke off while being read.
            return new Answer(Outcome.Retryable, null, ex.Message);
        }
    }

    private static bool IsTlsFailure(Exception ex)
    {
        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }

    private static Answer HttpOutcome(int code, string? type, TimeSpan? retryAfter, byte[] body)
    {
        if (code is >= 200 and < 300)
        {
            // The body is an Export*ServiceResponse; JSON (which the agent never asks for) is not read.
            // Compared by hand, as the answer's headers are: the framework's case-insensitive search
            // is three methods the JIT would compile twice, in the first seconds, for this alone.
            if (type is null || PlainHttpClient.AsciiContainsIgnoreCase(type, "protobuf"))
            {
                if (OtlpResponse.TryReadPartialSuccess(body, out var rejected, out var message))
                {
                    return Answer.Ok(rejected, message);
                }
            }

            return Answer.Ok(0, string.Empty);
        }

        // OTLP/HTTP: 429, 502, 503 and 504 are retryable; every other failure is not.
        var retryable = code is 429 or 502 or 503 or 504;
        return new Answer(retryable ? Outcome.Retryable : Outcome.Permanent, retryAfter, string.Create(CultureInfo.InvariantCulture, $"HTTP {code}"));
    }

    private static Answer GrpcOutcome(HttpResponseMessage response, byte[] body, bool complete)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var code = (int)response.StatusCode;
            return new Answer(code is 429 or 502 or 503 or 504 ? Outcome.Retryable : Outcome.Permanent, RetryAfter(response), string.Create(CultureInfo.InvariantCulture, $"HTTP {code}"));
        }

        if (!complete)
        {
            // Without the whole answer there are no trailers, so no status: the data may or may
            // not be in; sending it again could duplicate it.
            return new Answer(Outcome.Permanent, null, string.Create(CultureInfo.InvariantCulture, $"the answer was larger than {OtlpResponse.MaxReadBytes} bytes and was not read"));
        }

        var status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
        if (status is null)
        {
            return new Answer(Outcome.Retryable, null, "no grpc-status in the answer");
        }

        if (status == "0")
        {
            var message = OtlpResponse.GrpcMessage(body, Header(response.Headers, "grpc-encoding"));
            return OtlpResponse.TryReadPartialSuccess(message, out var rejected, out var text) ? Answer.Ok(rejected, text) : Answer.Ok(0, string.Empty);
        }

        // gRPC codes the OTLP specification calls retryable: CANCELLED 1, DEADLINE_EXCEEDED 4,
        // ABORTED 10, OUT_OF_RANGE 11, UNAVAILABLE 14, DATA_LOSS 15; RESOURCE_EXHAUSTED 8 only
        // when the server says, with RetryInfo, that recovery is possible.
        var grpcMessage = Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message");
        var retryDelay = GrpcRetryInfo.FromTrailer(Header(response.TrailingHeaders, "grpc-status-details-bin") ?? Header(response.Headers, "grpc-status-details-bin"));
        var retryable = status is "1" or "4" or "10" or "11" or "14" or "15" || (status == "8" && retryDelay is not null);
        var reason = $"grpc-status {status}{(grpcMessage is null ? string.Empty : " (" + Printable(Unescape(grpcMessage)) + ")")}";
        return new Answer(retryable ? Outcome.Retryable : Outcome.Permanent, retryable ? retryDelay : null, reason);
    }

    private static string Unescape(string value)
    {
        try
        {
            return Uri.UnescapeDataString(value);
        }
        catch (UriFormatException)
        {
            return value;
        }
    }

    private static string Printable(string value) =>
        string.Create(value.Length, value, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = char.IsControl(s[i]) ? ' ' : s[i];
            }
        });

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>Retry-After as a plain-HTTP answer carries it: seconds, or an HTTP date (RFC 9110).</summary>
    internal static TimeSpan? RetryAfter(string? value)
    {
        value = value?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(Math.Min(seconds, 86_400));
        }

        if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is TimeSpan delta)
        {
            return delta;
        }

        if (retryAfter?.Date is DateTimeOffset date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    // The body is sent from the writer's buffer (or the reused compression buffer), never copied:
    // a batch's request is usually larger than the large-object threshold, and a new array per
    // export made the runtime collect its large-object heap, a full collection, every few batches.
    // Apart, so that compiling Frame does not load System.IO.Compression into every app (about
    // 0.3 MB of resident memory) when compression is off, the default.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ReadOnlyMemory<byte> Compress(ReadOnlyMemory<byte> message)
    {
        _compressed ??= new MemoryStream();
        _compressed.SetLength(0);
        using (var gzip = new GZipStream(_compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(message.Span);
        }

        return _compressed.GetBuffer().AsMemory(0, (int)_compressed.Length);
    }

    private Body Frame(ReadOnlyMemory<byte> message)
    {
        var payload = _settings.Gzip ? Compress(message) : message;

        if (_settings.Protocol != OtlpProtocol.Grpc)
        {
            return new Body(null, payload);
        }

        // gRPC's message prefix: a compressed flag and the length, big-endian.
        var prefix = new byte[5];
        prefix[0] = _settings.Gzip ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(1), (uint)payload.Length);
        return new Body(prefix, payload);
    }

    public void Dispose()
    {
        _plain?.Dispose();
        if (_client is not null)
        {
            DisposeClient();
        }
    }

    // Apart, so that disposing an exporter that never made an HttpClient does not load it.
    private void DisposeClient() => _client!.Dispose();

    /// <summary>A request body: an optional prefix, then the payload, both sent as they are.</summary>
    private readonly record struct Body(byte[]? Prefix, ReadOnlyMemory<byte> Payload)
    {
        public int Length => (Prefix?.Length ?? 0) + Payload.Length;
    }

    private sealed class BodyContent : HttpContent
    {
        private readonly Body _body;

        public BodyContent(Body body)
        {
            _body = body;
        }

        protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            if (_body.Prefix is not null)
            {
                stream.Write(_body.Prefix);
            }

            stream.Write(_body.Payload.Span);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            if (_body.Prefix is not null)
            {
                await stream.WriteAsync(_body.Prefix, cancellationToken).ConfigureAwait(false);
            }

            await stream.WriteAsync(_body.Payload, cancellationToken).ConfigureAwait(false);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _body.Length;
            return true;
        }
    }

    /// <summary>A part of a batch, for the requests a batch too large for one is split into.</summary>
    private sealed class Slice : IReadOnlyList<T>
    {
        private readonly IReadOnlyList<T> _list;
        private readonly int _start;

        public Slice(IReadOnlyList<T> list, int start, int count)
        {
            _list = list;
            _start = start;
            Count = count;
        }

        public int Count { get; }

        public T this[int index] => _list[_start + index];

        public IEnumerator<T> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return _list[_start + i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
