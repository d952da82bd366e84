using System.Globalization;

namespace TraceAgent.Otlp.Receiver;

public enum ReceiverModeKind
{
    /// <summary>Decode, record and acknowledge.</summary>
    Normal,

    /// <summary>Answer with an error status (and optionally a retry delay); record nothing.</summary>
    Status,

    /// <summary>Read the request and never answer until the receiver is disposed or the client gives up.</summary>
    Hang,

    /// <summary>Answer success with bytes that are not a valid response message.</summary>
    Garbage,

    /// <summary>Decode and record, and answer with OTLP partial_success (rejected count and message).</summary>
    PartialSuccess,

    /// <summary>Decode and record, and answer success with a response padded to <see cref="ReceiverMode.AnswerBytes"/> bytes.</summary>
    HugeAnswer,
}

/// <summary>How the receiver answers export requests; switch it at runtime to test exporter failure handling.</summary>
public sealed class ReceiverMode
{
    private ReceiverMode(ReceiverModeKind kind, int httpStatusCode, int grpcStatusCode, int? retryAfterSeconds, long rejected = 0, string message = "", int answerBytes = 0)
    {
        AnswerBytes = answerBytes;
        Rejected = rejected;
        Message = message;
        Kind = kind;
        HttpStatusCode = httpStatusCode;
        GrpcStatusCode = grpcStatusCode;
        RetryAfterSeconds = retryAfterSeconds;
    }

    public static ReceiverMode Normal { get; } = new(ReceiverModeKind.Normal, 200, 0, null);

    public static ReceiverMode Hang { get; } = new(ReceiverModeKind.Hang, 0, 0, null);

    public static ReceiverMode Garbage { get; } = new(ReceiverModeKind.Garbage, 200, 0, null);

    public ReceiverModeKind Kind { get; }

    /// <summary>For <see cref="ReceiverModeKind.PartialSuccess"/>: the rejected item count sent back.</summary>
    public long Rejected { get; }

    /// <summary>For <see cref="ReceiverModeKind.PartialSuccess"/>: the error_message sent back.</summary>
    public string Message { get; }

    /// <summary>Accept and record every export, answering that <paramref name="rejected"/> items were rejected, with <paramref name="message"/>.</summary>
    public static ReceiverMode PartialSuccess(long rejected, string message) => new(ReceiverModeKind.PartialSuccess, 200, 0, null, rejected, message);

    /// <summary>For <see cref="ReceiverModeKind.HugeAnswer"/>: about how many bytes the response message has.</summary>
    public int AnswerBytes { get; }

    /// <summary>
    /// Accept and record every export, answering success with a response message of about
    /// <paramref name="bytes"/> bytes (an unknown field a reader skips): far more than an OTLP answer.
    /// </summary>
    public static ReceiverMode HugeAnswer(int bytes) => new(ReceiverModeKind.HugeAnswer, 200, 0, null, answerBytes: bytes);

    /// <summary>Status sent on the OTLP/HTTP endpoint.</summary>
    public int HttpStatusCode { get; }

    /// <summary>grpc-status sent on the OTLP/gRPC endpoint.</summary>
    public int GrpcStatusCode { get; }

    /// <summary>
    /// Sent as <c>Retry-After</c> over HTTP and as a <c>google.rpc.RetryInfo</c> detail over gRPC,
    /// the two ways OTLP tells an exporter when to retry.
    /// </summary>
    public int? RetryAfterSeconds { get; }

    /// <summary>
    /// Fail every export with <paramref name="httpStatusCode"/>; the gRPC endpoint sends
    /// <paramref name="grpcStatusCode"/> or, when omitted, the gRPC code matching the HTTP one
    /// (429 resource exhausted, 502/503/504 unavailable, 400 invalid argument, ...).
    /// </summary>
    public static ReceiverMode Status(int httpStatusCode, int? retryAfterSeconds = null, int? grpcStatusCode = null)
    {
        if (httpStatusCode is < 100 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(httpStatusCode), httpStatusCode, "Not an HTTP status code.");
        }

        return new ReceiverMode(
            ReceiverModeKind.Status,
            httpStatusCode,
            grpcStatusCode ?? GrpcCodeFor(httpStatusCode),
            retryAfterSeconds);
    }

    public override string ToString() => Kind switch
    {
        ReceiverModeKind.Status => string.Create(
            CultureInfo.InvariantCulture,
            $"Status(http {HttpStatusCode}, grpc {GrpcStatusCode}, retry-after {RetryAfterSeconds?.ToString(CultureInfo.InvariantCulture) ?? "none"})"),
        _ => Kind.ToString(),
    };

    // The mapping the OTLP specification pairs with its retryable HTTP and gRPC codes.
    private static int GrpcCodeFor(int httpStatusCode) => httpStatusCode switch
    {
        400 => 3, // INVALID_ARGUMENT
        401 => 16, // UNAUTHENTICATED
        403 => 7, // PERMISSION_DENIED
        404 => 12, // UNIMPLEMENTED
        408 => 4, // DEADLINE_EXCEEDED
        429 => 8, // RESOURCE_EXHAUSTED
        500 => 13, // INTERNAL
        501 => 12, // UNIMPLEMENTED
        502 or 503 or 504 => 14, // UNAVAILABLE
        < 400 => 0,
        _ => 2, // UNKNOWN
    };
}
