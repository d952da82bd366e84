using System.Security.Cryptography.X509Certificates;

namespace TraceAgent.Otlp.Receiver;

public sealed class OtlpReceiverOptions
{
    /// <summary>Port of the HTTP/1.1 + HTTP/2 OTLP/HTTP endpoint; 0 picks a free one.</summary>
    public int HttpPort { get; init; }

    /// <summary>Port of the HTTP/2 cleartext (prior knowledge) OTLP/gRPC endpoint; 0 picks a free one.</summary>
    public int GrpcPort { get; init; }

    /// <summary>Largest request body accepted, compressed size.</summary>
    public long MaxRequestBodySize { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// Accept export requests without decoding or keeping their content (requests are still
    /// listed): for benchmarks, where the receiver shares the machine with the app under test.
    /// </summary>
    public bool DiscardData { get; init; }

    /// <summary>
    /// Keep every request, span, log record and metric for <see cref="OtlpReceiver.Spans"/>, <see cref="OtlpReceiver.Logs"/>,
    /// <see cref="OtlpReceiver.Metrics"/> and <see cref="OtlpReceiver.Requests"/> (what tests assert on). A long-running tool that only
    /// listens to the events (the trace viewer) turns this off, so its memory does not grow with
    /// everything it was ever sent.
    /// </summary>
    public bool RetainReceived { get; init; } = true;

    /// <summary>With a certificate (and its key) both endpoints speak TLS: https:// URLs, gRPC over HTTP/2 with ALPN.</summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>
    /// With TLS, demand a client certificate issued by this CA: a client without one, or with
    /// another, fails the handshake.
    /// </summary>
    public X509Certificate2? RequiredClientCertificateAuthority { get; init; }
}
