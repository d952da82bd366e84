using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;
using TraceAgent.Otlp.Receiver.Protobuf;

namespace TraceAgent.Otlp.Receiver;

/// <summary>
/// Answers OTLP/HTTP (protobuf) and OTLP/gRPC export requests. gRPC is handled by hand: a unary
/// call is one HTTP/2 POST whose body is a 5-byte prefix (compressed flag, big-endian length) and
/// one message, answered with the same framing and a <c>grpc-status</c> trailer.
/// </summary>
internal sealed class ExportHandler
{
    public const string HttpTracesPath = "/v1/traces";
    public const string HttpLogsPath = "/v1/logs";
    public const string GrpcTracesPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    public const string GrpcLogsPath = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    public const string HttpMetricsPath = "/v1/metrics";
    public const string GrpcMetricsPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

    private const string HttpProtocol = "http/protobuf";
    private const string GrpcProtocol = "grpc";
    private const string TracesSignal = "traces";
    private const string LogsSignal = "logs";
    private const string MetricsSignal = "metrics";
    private const int GrpcInvalidArgument = 3;
    private const int GrpcUnimplemented = 12;

    private readonly ReceivedData _data;
    private readonly Func<ReceiverMode> _mode;
    private readonly CancellationToken _stopping;
    private readonly Action<IReadOnlyList<ReceivedSpan>> _onSpans;
    private readonly Action<IReadOnlyList<ReceivedLogRecord>> _onLogs;
    private readonly bool _discardData;
    private readonly bool _retain;
    private readonly ReceivedMetricsStore? _metrics;
    private readonly Action<IReadOnlyList<ReceivedMetric>>? _onMetrics;

    public ExportHandler(
        ReceivedData data,
        Func<ReceiverMode> mode,
        Action<IReadOnlyList<ReceivedSpan>> onSpans,
        Action<IReadOnlyList<ReceivedLogRecord>> onLogs,
        CancellationToken stopping,
        bool discardData = false,
        bool retain = true,
        ReceivedMetricsStore? metrics = null,
        Action<IReadOnlyList<ReceivedMetric>>? onMetrics = null)
    {
        _metrics = metrics;
        _onMetrics = onMetrics;
        _discardData = discardData;
        _retain = retain;
        _data = data;
        _mode = mode;
        _stopping = stopping;
        _onSpans = onSpans;
        _onLogs = onLogs;
    }

    public async Task HandleAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "";
        (string protocol, string signal)? route = path switch
        {
            HttpTracesPath => (HttpProtocol, TracesSignal),
            HttpLogsPath => (HttpProtocol, LogsSignal),

            // A gRPC method may sit under a path prefix (a gateway routing by path): /prefix/opentelemetry...
            _ when path.EndsWith(GrpcTracesPath, StringComparison.Ordinal) => (GrpcProtocol, TracesSignal),
            _ when path.EndsWith(GrpcLogsPath, StringComparison.Ordinal) => (GrpcProtocol, LogsSignal),
            HttpMetricsPath when _metrics is not null => (HttpProtocol, MetricsSignal),
            _ when _metrics is not null && path.EndsWith(GrpcMetricsPath, StringComparison.Ordinal) => (GrpcProtocol, MetricsSignal),
            _ => null,
        };

        if (route is not { } found)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        byte[] body = await ReadBodyAsync(context).ConfigureAwait(false);
        ReceiverMode mode = _mode();
        if (_retain)
        {
            _data.AddRequest(new ReceivedRequest
            {
                Protocol = found.protocol,
                Signal = found.signal,
                Path = context.Request.Path.Value ?? "",
                Query = context.Request.QueryString.Value ?? "",
                HttpVersion = context.Request.Protocol,
                Headers = CopyHeaders(context.Request.Headers),
                BodyLength = body.Length,
                Mode = mode,
                ClientCertificateSubject = context.Connection.ClientCertificate?.Subject,
            });
        }

        bool grpc = found.protocol == GrpcProtocol;
        switch (mode.Kind)
        {
            case ReceiverModeKind.Hang:
                await HangAsync(context).ConfigureAwait(false);
                break;
            case ReceiverModeKind.Status:
                await (grpc ? WriteGrpcErrorAsync(context, mode) : WriteHttpErrorAsync(context, mode)).ConfigureAwait(false);
                break;
            case ReceiverModeKind.Garbage:
                await WriteGarbageAsync(context, grpc).ConfigureAwait(false);
                break;
            default:
                await (grpc ? HandleGrpcAsync(context, found.signal, body, mode) : HandleHttpAsync(context, found.signal, body, mode)).ConfigureAwait(false);
                break;
        }
    }

    private async Task HandleHttpAsync(HttpContext context, string signal, byte[] body, ReceiverMode mode)
    {
        string contentType = context.Request.ContentType ?? "";
        if (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            // OTLP/JSON is legal but not something the agent sends; refusing it loudly beats silently recording nothing.
            _data.AddError("OTLP/JSON is not supported by this receiver.");
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        byte[] message;
        try
        {
            message = Decompress(body, context.Request.Headers.ContentEncoding.ToString());
        }
        catch (Exception ex) when (ex is InvalidDataException or NotSupportedException)
        {
            _data.AddError($"{signal} over HTTP: {ex.Message}");
            await WriteHttpStatusBodyAsync(context, StatusCodes.Status400BadRequest, GrpcInvalidArgument, ex.Message).ConfigureAwait(false);
            return;
        }

        if (!TryRecord(signal, message, out string? error, HttpProtocol))
        {
            await WriteHttpStatusBodyAsync(context, StatusCodes.Status400BadRequest, GrpcInvalidArgument, error).ConfigureAwait(false);
            return;
        }

        // An empty Export*ServiceResponse (no partial_success) is zero bytes.
        byte[] answer = ExportResponse(mode);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/x-protobuf";
        context.Response.ContentLength = answer.Length;
        await context.Response.Body.WriteAsync(answer, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Export{Trace,Logs}ServiceResponse: empty, or with partial_success = 1 { rejected = 1, error_message = 2 }
    /// (the same field numbers for spans, log records and data points).
    /// </summary>
    private static byte[] ExportResponse(ReceiverMode mode)
    {
        if (mode.Kind == ReceiverModeKind.HugeAnswer)
        {
            // Field 15 is not in the response message: a reader that gets it all skips it.
            var padded = new ProtoWriter();
            padded.WriteBytesField(15, new byte[mode.AnswerBytes]);
            return padded.ToArray();
        }

        if (mode.Kind != ReceiverModeKind.PartialSuccess)
        {
            return [];
        }

        var partial = new ProtoWriter();
        if (mode.Rejected != 0)
        {
            partial.WriteVarintField(1, unchecked((ulong)mode.Rejected));
        }

        if (mode.Message.Length > 0)
        {
            partial.WriteStringField(2, mode.Message);
        }

        var response = new ProtoWriter();
        response.WriteMessageField(1, partial);
        return response.ToArray();
    }

    private async Task HandleGrpcAsync(HttpContext context, string signal, byte[] body, ReceiverMode mode)
    {
        if (!(context.Request.ContentType ?? "").StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        byte[] message;
        try
        {
            message = UnframeGrpc(body, context.Request.Headers["grpc-encoding"].ToString());
        }
        catch (Exception ex) when (ex is InvalidDataException or NotSupportedException)
        {
            _data.AddError($"{signal} over gRPC: {ex.Message}");
            int code = ex is NotSupportedException ? GrpcUnimplemented : GrpcInvalidArgument;
            await WriteGrpcTrailersOnlyAsync(context, code, ex.Message, details: null).ConfigureAwait(false);
            return;
        }

        if (!TryRecord(signal, message, out string? error, GrpcProtocol))
        {
            await WriteGrpcTrailersOnlyAsync(context, GrpcInvalidArgument, error, details: null).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.AppendTrailer("grpc-status", "0");

        // One uncompressed Export*ServiceResponse: flag 0, big-endian length, the message.
        byte[] answer = ExportResponse(mode);
        byte[] frame = new byte[5 + answer.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)answer.Length);
        answer.CopyTo(frame, 5);
        await context.Response.Body.WriteAsync(frame, context.RequestAborted).ConfigureAwait(false);
    }

    private bool TryRecord(string signal, byte[] message, out string error, string protocol)
    {
        error = "";
        if (_discardData)
        {
            // A stand-in for a collector on another machine: accept, keep nothing, spend nothing.
            return true;
        }

        try
        {
            if (signal == MetricsSignal)
            {
                IReadOnlyList<ReceivedMetric> metrics = _metrics!.Add(message, protocol, _retain);
                _onMetrics?.Invoke(metrics);
            }
            else if (signal == TracesSignal)
            {
                List<ReceivedSpan> spans = OtlpDecoder.DecodeTraces(message);
                if (_retain)
                {
                    _data.AddSpans(spans);
                }

                _onSpans(spans);
            }
            else
            {
                List<ReceivedLogRecord> logs = OtlpDecoder.DecodeLogs(message);
                if (_retain)
                {
                    _data.AddLogs(logs);
                }

                _onLogs(logs);
            }

            error = "";
            return true;
        }
        catch (FormatException ex)
        {
            error = $"Invalid {signal} export request: {ex.Message}";
            _data.AddError(error);
            return false;
        }
    }

    private async Task HangAsync(HttpContext context)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping);
        try
        {
            await Task.Delay(Timeout.Infinite, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Resetting the stream tells a client still waiting that no answer will ever come, and
            // lets Kestrel shut down without waiting for this request.
            context.Abort();
        }
    }

    private static async Task WriteHttpErrorAsync(HttpContext context, ReceiverMode mode)
    {
        if (mode.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        await WriteHttpStatusBodyAsync(context, mode.HttpStatusCode, mode.GrpcStatusCode, "receiver fault mode " + mode).ConfigureAwait(false);
    }

    /// <summary>OTLP/HTTP error bodies are a protobuf <c>google.rpc.Status</c>.</summary>
    private static async Task WriteHttpStatusBodyAsync(HttpContext context, int httpStatus, int grpcCode, string message)
    {
        byte[] status = GoogleRpcStatus(grpcCode, message, retryAfterSeconds: null);
        context.Response.StatusCode = httpStatus;
        context.Response.ContentType = "application/x-protobuf";
        context.Response.ContentLength = status.Length;
        await context.Response.Body.WriteAsync(status, context.RequestAborted).ConfigureAwait(false);
    }

    private static Task WriteGrpcErrorAsync(HttpContext context, ReceiverMode mode)
    {
        byte[]? details = mode.RetryAfterSeconds is { } seconds
            ? GoogleRpcStatus(mode.GrpcStatusCode, "receiver fault mode", seconds)
            : null;
        return WriteGrpcTrailersOnlyAsync(context, mode.GrpcStatusCode, "receiver fault mode " + mode, details);
    }

    private static Task WriteGrpcTrailersOnlyAsync(HttpContext context, int grpcCode, string message, byte[]? details)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.AppendTrailer("grpc-status", grpcCode.ToString(CultureInfo.InvariantCulture));
        context.Response.AppendTrailer("grpc-message", Uri.EscapeDataString(message));
        if (details is not null)
        {
            context.Response.AppendTrailer("grpc-status-details-bin", Convert.ToBase64String(details));
        }

        return Task.CompletedTask;
    }

    private static async Task WriteGarbageAsync(HttpContext context, bool grpc)
    {
        byte[] garbage = new byte[Random.Shared.Next(16, 64)];
        Random.Shared.NextBytes(garbage);

        // Tag byte 0x07 is field 0 with wire type 7: both invalid, so no protobuf parser can accept it.
        garbage[0] = 0x07;
        context.Response.StatusCode = StatusCodes.Status200OK;
        if (grpc)
        {
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", "0");
            byte[] frame = new byte[5 + garbage.Length];
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)garbage.Length);
            garbage.CopyTo(frame, 5);
            garbage = frame;
        }
        else
        {
            context.Response.ContentType = "application/x-protobuf";
            context.Response.ContentLength = garbage.Length;
        }

        await context.Response.Body.WriteAsync(garbage, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// google.rpc.Status { code = 1; message = 2; details = 3 (Any) }, with a RetryInfo detail
    /// { retry_delay = 1 (Duration { seconds = 1 }) } when a retry delay is given.
    /// </summary>
    private static byte[] GoogleRpcStatus(int code, string message, int? retryAfterSeconds)
    {
        var status = new ProtoWriter();
        status.WriteVarintField(1, unchecked((ulong)code));
        status.WriteStringField(2, message);
        if (retryAfterSeconds is { } seconds)
        {
            var duration = new ProtoWriter();
            duration.WriteVarintField(1, unchecked((ulong)seconds));
            var retryInfo = new ProtoWriter();
            retryInfo.WriteMessageField(1, duration);
            var any = new ProtoWriter();
            any.WriteStringField(1, "type.googleapis.com/google.rpc.RetryInfo");
            any.WriteMessageField(2, retryInfo);
            status.WriteMessageField(3, any);
        }

        return status.ToArray();
    }

    private static byte[] UnframeGrpc(byte[] body, string grpcEncoding)
    {
        if (body.Length < 5)
        {
            throw new InvalidDataException($"gRPC body of {body.Length} bytes is shorter than the 5-byte message prefix.");
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1, 4));
        if (length != body.Length - 5)
        {
            throw new InvalidDataException($"gRPC prefix announces {length} bytes but {body.Length - 5} follow; a unary call carries exactly one message.");
        }

        byte[] message = body[5..];
        return body[0] switch
        {
            0 => message,
            1 when grpcEncoding.Length > 0 && grpcEncoding != "identity" => Decompress(message, grpcEncoding),
            1 => throw new InvalidDataException("gRPC message flagged compressed without a grpc-encoding."),
            _ => throw new InvalidDataException($"Invalid gRPC compressed flag {body[0]}."),
        };
    }

    private static byte[] Decompress(byte[] body, string encoding)
    {
        encoding = encoding.Trim();
        if (encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return body;
        }

        Stream decompressor = encoding.ToLowerInvariant() switch
        {
            "gzip" => new GZipStream(new MemoryStream(body), CompressionMode.Decompress),
            "deflate" => new ZLibStream(new MemoryStream(body), CompressionMode.Decompress),
            _ => throw new NotSupportedException($"Unsupported content encoding '{encoding}'."),
        };

        using (decompressor)
        {
            var output = new MemoryStream();
            decompressor.CopyTo(output);
            return output.ToArray();
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static Dictionary<string, string> CopyHeaders(IHeaderDictionary headers)
    {
        var copy = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> header in headers)
        {
            copy[header.Key] = header.Value.ToString();
        }

        return copy;
    }
}
