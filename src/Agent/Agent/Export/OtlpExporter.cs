using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Tracing;

namespace TraceAgent.Export;

/// <summary>
/// Sends OTLP over HTTP/protobuf or gRPC with the runtime's own HttpClient (gRPC is HTTP/2 with a
/// 5-byte message prefix and a grpc-status trailer, so no gRPC package is needed in the app).
/// Retries what the OTLP specification calls retryable, with backoff and Retry-After, never past
/// the deadline; everything else is dropped and counted by the caller.
/// </summary>
internal sealed class OtlpExporter<T> : IExporter<T>
{
    private static readonly MediaTypeHeaderValue ProtobufType = new("application/x-protobuf");
    private static readonly MediaTypeHeaderValue GrpcType = new("application/grpc");

    private readonly OtlpExporterSettings _settings;
    private readonly Action<ProtoWriter, IReadOnlyList<T>> _encode;
    private HttpClient? _client;
    private readonly ProtoWriter _writer = new();
    private readonly Uri _uri;
    private readonly string _shownUri;
    private readonly string _signal;
    private int _lastFailureStatus = -1;

    public OtlpExporter(OtlpExporterSettings settings, Action<ProtoWriter, IReadOnlyList<T>> encode, string signal)
    {
        _settings = settings;
        _encode = encode;
        _signal = signal;
        _uri = settings.Protocol == OtlpProtocol.Grpc
            ? new Uri(settings.Endpoint.GetLeftPart(UriPartial.Authority) + signal switch
            {
                "logs" => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                "metrics" => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
                _ => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            })
            : settings.Endpoint;
        _shownUri = EndpointDisplay.Of(_uri);
    }

    // Made on the export thread at the first export, not at start-up: loading and setting up the
    // HTTP stack is then off the app's start-up path.
    private HttpClient Client => _client ??= new HttpClient(new SocketsHttpHandler
    {
        // The export call must neither be traced nor carry the app's trace context.
        ActivityHeadersPropagator = null,

        // Nor be counted in the app's own HttpClient metrics.
        MeterFactory = Metrics.AgentMeterFactory.Instance,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromMilliseconds(Math.Min(_settings.TimeoutMilliseconds, 5000)),
        UseProxy = false,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public string Description => (_settings.Protocol == OtlpProtocol.Grpc ? "otlp/grpc " : "otlp/http ") + _shownUri;

    public ExportResult Export(IReadOnlyList<T> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        _writer.Reset();
        _encode(_writer, batch);
        var body = Frame(_writer.WrittenSpan);
        return Send(body, deadlineUtc, cancellationToken);
    }

    internal ExportResult Send(byte[] body, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        var attempt = 0;
        var perAttempt = TimeSpan.FromMilliseconds(_settings.TimeoutMilliseconds);
        while (true)
        {
            attempt++;
            var left = deadlineUtc - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return Fail("the export deadline passed");
            }

            var (outcome, retryAfter, reason) = SendOnce(body, left < perAttempt ? left : perAttempt, cancellationToken);
            if (outcome == Outcome.Success)
            {
                if (_lastFailureStatus != -1)
                {
                    _lastFailureStatus = -1;
                    AgentLog.Info($"{_signal} export to {_shownUri} works again");
                }

                return ExportResult.Success;
            }

            if (outcome == Outcome.Permanent || attempt >= 5 || cancellationToken.IsCancellationRequested)
            {
                return Fail(reason);
            }

            // Exponential backoff with jitter (OTLP specification), or the server's Retry-After.
            var delay = retryAfter ?? TimeSpan.FromMilliseconds(Math.Min(8000, 250 * (1 << (attempt - 1))) * (0.5 + Random.Shared.NextDouble() / 2));
            if (DateTime.UtcNow + delay >= deadlineUtc)
            {
                return Fail(reason + ", and the next retry would pass the deadline");
            }

            if (cancellationToken.WaitHandle.WaitOne(delay))
            {
                return Fail("shutting down");
            }
        }
    }

    private ExportResult Fail(string reason)
    {
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

    private (Outcome Outcome, TimeSpan? RetryAfter, string Reason) SendOnce(byte[] body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, _uri);
        var content = new ByteArrayContent(body);
        if (_settings.Protocol == OtlpProtocol.Grpc)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
            content.Headers.ContentType = GrpcType;
            request.Headers.TryAddWithoutValidation("te", "trailers");
            if (_settings.Gzip)
            {
                request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");
            }
        }
        else
        {
            content.Headers.ContentType = ProtobufType;
            if (_settings.Gzip)
            {
                content.Headers.ContentEncoding.Add("gzip");
            }
        }

        request.Content = content;
        foreach (var header in _settings.Headers)
        {
            request.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        try
        {
            HttpResponseMessage response;
            using (Suppression.Begin())
            {
                var task = Client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cts.Token);
                response = task.GetAwaiter().GetResult();
            }

            using (response)
            {
                return _settings.Protocol == OtlpProtocol.Grpc ? GrpcOutcome(response) : HttpOutcome(response);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The configured timeout, not what was left of the deadline: the same failure must read
            // the same every time to be logged once, not once per batch.
            return (Outcome.Retryable, null, string.Create(CultureInfo.InvariantCulture, $"no answer within the export timeout ({_settings.TimeoutMilliseconds} ms)"));
        }
        catch (OperationCanceledException)
        {
            return (Outcome.Permanent, null, "shutting down");
        }
        catch (HttpRequestException ex)
        {
            return (Outcome.Retryable, null, ex.InnerException?.Message ?? ex.Message);
        }
    }

    private static (Outcome, TimeSpan?, string) HttpOutcome(HttpResponseMessage response)
    {
        var code = (int)response.StatusCode;
        if (code is >= 200 and < 300)
        {
            return (Outcome.Success, null, string.Empty);
        }

        // OTLP/HTTP: 429, 502, 503 and 504 are retryable; every other failure is not.
        var retryable = code is 429 or 502 or 503 or 504;
        return (retryable ? Outcome.Retryable : Outcome.Permanent, RetryAfter(response), string.Create(CultureInfo.InvariantCulture, $"HTTP {code}"));
    }

    private static (Outcome, TimeSpan?, string) GrpcOutcome(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var code = (int)response.StatusCode;
            return (code is 429 or 502 or 503 or 504 ? Outcome.Retryable : Outcome.Permanent, RetryAfter(response), string.Create(CultureInfo.InvariantCulture, $"HTTP {code}"));
        }

        var status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
        if (status is null)
        {
            return (Outcome.Retryable, null, "no grpc-status in the answer");
        }

        if (status == "0")
        {
            return (Outcome.Success, null, string.Empty);
        }

        // gRPC codes the OTLP specification calls retryable: CANCELLED 1, DEADLINE_EXCEEDED 4,
        // RESOURCE_EXHAUSTED 8, ABORTED 10, OUT_OF_RANGE 11, UNAVAILABLE 14, DATA_LOSS 15.
        var retryable = status is "1" or "4" or "8" or "10" or "11" or "14" or "15";
        var message = Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message");
        var retryDelay = retryable ? GrpcRetryInfo.FromTrailer(Header(response.TrailingHeaders, "grpc-status-details-bin") ?? Header(response.Headers, "grpc-status-details-bin")) : null;
        return (retryable ? Outcome.Retryable : Outcome.Permanent, retryDelay, $"grpc-status {status}{(message is null ? string.Empty : " (" + Uri.UnescapeDataString(message) + ")")}");
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

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

    private byte[] Frame(ReadOnlySpan<byte> message)
    {
        ReadOnlySpan<byte> payload = message;
        byte[]? compressed = null;
        if (_settings.Gzip)
        {
            using var output = new MemoryStream();
            using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            {
                gzip.Write(message);
            }

            compressed = output.ToArray();
            payload = compressed;
        }

        if (_settings.Protocol != OtlpProtocol.Grpc)
        {
            return compressed ?? payload.ToArray();
        }

        var framed = new byte[payload.Length + 5];
        framed[0] = _settings.Gzip ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(framed.AsSpan(5));
        return framed;
    }

    public void Dispose() => _client?.Dispose();
}
