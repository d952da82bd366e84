namespace TraceAgent.Configuration;

public enum OtlpProtocol
{
    HttpProtobuf,
    Grpc,
}

/// <summary>One signal's OTLP exporter: OTEL_EXPORTER_OTLP_{SIGNAL}_* where set, the generic OTEL_EXPORTER_OTLP_* otherwise.</summary>
public sealed record OtlpExporterSettings(
    Uri Endpoint,
    OtlpProtocol Protocol,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    int TimeoutMilliseconds,
    bool Gzip,
    OtlpTlsSettings? Tls = null);

/// <summary>
/// PEM files for an OTLP exporter's TLS (OTEL_EXPORTER_OTLP_[SIGNAL_]CERTIFICATE, CLIENT_CERTIFICATE,
/// CLIENT_KEY), with the variable each path came from, so a file that cannot be used is reported by
/// name. The files are read when the exporter is made, not here.
/// </summary>
public sealed record OtlpTlsSettings(
    string? CertificateFile,
    string? CertificateVariable,
    string? ClientCertificateFile,
    string? ClientCertificateVariable,
    string? ClientKeyFile,
    string? ClientKeyVariable)
{
    public bool IsEmpty => CertificateFile is null && ClientCertificateFile is null && ClientKeyFile is null;
}
