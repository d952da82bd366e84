namespace TraceAgent.Otlp.Receiver;

/// <summary>What arrived with one export request, recorded whatever the receiver's mode.</summary>
public sealed class ReceivedRequest
{
    /// <summary>"http/protobuf" or "grpc", as the OTEL_EXPORTER_OTLP_PROTOCOL values name them.</summary>
    public string Protocol { get; init; } = "";

    /// <summary>"traces", "logs" or "metrics".</summary>
    public string Signal { get; init; } = "";

    public string Path { get; init; } = "";

    /// <summary>The query string with its '?', or empty.</summary>
    public string Query { get; init; } = "";

    /// <summary>"HTTP/1.1" or "HTTP/2".</summary>
    public string HttpVersion { get; init; } = "";

    /// <summary>Request headers, case-insensitive names, repeated values joined with a comma.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Size of the body as sent, before any decompression.</summary>
    public int BodyLength { get; init; }

    public ReceiverMode Mode { get; init; } = ReceiverMode.Normal;

    /// <summary>The subject of the client certificate presented over TLS, or null.</summary>
    public string? ClientCertificateSubject { get; init; }

    public string? Header(string name) => Headers.TryGetValue(name, out string? value) ? value : null;

    public override string ToString() => $"{Protocol} {Signal} {HttpVersion} {BodyLength} bytes ({Mode})";
}
