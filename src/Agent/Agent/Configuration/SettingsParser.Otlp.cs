namespace TraceAgent.Configuration;

/// <summary>The OTLP exporter variables, per signal (OTEL_EXPORTER_OTLP_[SIGNAL_]*).</summary>
internal static partial class SettingsParser
{
    /// <summary>
    /// One signal's OTLP exporter settings: OTEL_EXPORTER_OTLP_{SIGNAL}_* where set, the generic
    /// OTEL_EXPORTER_OTLP_* otherwise. <paramref name="signal"/> is TRACES, LOGS (or METRICS), and
    /// <paramref name="path"/> what OTLP/HTTP appends to a generic endpoint (/v1/traces...).
    /// </summary>
    private static OtlpExporterSettings ReadOtlp(SettingsReader reader, string signal, string path)
    {
        var endpointKey = ConfigurationKeys.OtlpSignal(signal, "ENDPOINT");
        var protocolKey = ConfigurationKeys.OtlpSignal(signal, "PROTOCOL");
        var headersKey = ConfigurationKeys.OtlpSignal(signal, "HEADERS");
        var timeoutKey = ConfigurationKeys.OtlpSignal(signal, "TIMEOUT");
        var compressionKey = ConfigurationKeys.OtlpSignal(signal, "COMPRESSION");

        // Each key is read (and, if invalid, reported) once per process: the generic keys serve
        // both signals, so a signal only reads its own key when that is set.
        var protocol = reader.GetString(protocolKey) is not null ? ReadProtocol(reader, protocolKey) : GenericOtlp(reader).Protocol;
        Uri endpoint;
        if (reader.GetString(endpointKey) is not null)
        {
            // A signal-specific endpoint is used exactly as given (OTLP exporter specification).
            endpoint = ReadUri(reader, endpointKey, DefaultEndpoint(protocol, path));
        }
        else if (GenericOtlp(reader).Endpoint is { } baseUri)
        {
            endpoint = protocol == OtlpProtocol.Grpc ? baseUri : AppendPath(baseUri, path);
        }
        else
        {
            endpoint = DefaultEndpoint(protocol, path);
        }

        return new OtlpExporterSettings(
            endpoint,
            protocol,
            reader.GetString(headersKey) is not null ? ParseHeaders(reader, headersKey) : GenericOtlp(reader).Headers,
            reader.GetString(timeoutKey) is not null ? reader.GetInt(timeoutKey, 10000, 1) : GenericOtlp(reader).Timeout,
            reader.GetString(compressionKey) is not null ? ReadGzip(reader, compressionKey) : GenericOtlp(reader).Gzip,
            ReadTls(reader, signal));
    }

    private static OtlpTlsSettings? ReadTls(SettingsReader reader, string signal)
    {
        (string? File, string? Variable) Path(string generic, string suffix)
        {
            var specific = ConfigurationKeys.OtlpSignal(signal, suffix);
            var value = reader.GetString(specific);
            if (value is not null)
            {
                return (value, specific);
            }

            value = reader.GetString(generic);
            return value is null ? (null, null) : (value, generic);
        }

        var (ca, caVariable) = Path(ConfigurationKeys.OtlpCertificate, "CERTIFICATE");
        var (certificate, certificateVariable) = Path(ConfigurationKeys.OtlpClientCertificate, "CLIENT_CERTIFICATE");
        var (key, keyVariable) = Path(ConfigurationKeys.OtlpClientKey, "CLIENT_KEY");
        var tls = new OtlpTlsSettings(ca, caVariable, certificate, certificateVariable, key, keyVariable);
        return tls.IsEmpty ? null : tls;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SettingsReader, GenericOtlpValues> GenericValues = new();

    private sealed record GenericOtlpValues(OtlpProtocol Protocol, Uri? Endpoint, IReadOnlyList<KeyValuePair<string, string>> Headers, int Timeout, bool Gzip);

    private static GenericOtlpValues GenericOtlp(SettingsReader reader) => GenericValues.GetValue(reader, static r =>
    {
        var protocol = ReadProtocol(r, ConfigurationKeys.OtlpProtocol);
        var endpoint = r.GetString(ConfigurationKeys.OtlpEndpoint) is null ? null : ReadUri(r, ConfigurationKeys.OtlpEndpoint, DefaultEndpoint(protocol, string.Empty));
        return new GenericOtlpValues(
            protocol,
            endpoint,
            ParseHeaders(r, ConfigurationKeys.OtlpHeaders),
            r.GetInt(ConfigurationKeys.OtlpTimeout, 10000, 1),
            ReadGzip(r, ConfigurationKeys.OtlpCompression));
    });

    private static OtlpProtocol ReadProtocol(SettingsReader reader, string key)
    {
        var raw = reader.GetString(key);
        if (raw is null || string.Equals(raw, "http/protobuf", StringComparison.OrdinalIgnoreCase))
        {
            return OtlpProtocol.HttpProtobuf;
        }

        if (string.Equals(raw, "grpc", StringComparison.OrdinalIgnoreCase))
        {
            return OtlpProtocol.Grpc;
        }

        reader.Invalid(key, raw, "is not a supported protocol (http/protobuf, grpc)", "http/protobuf");
        return OtlpProtocol.HttpProtobuf;
    }

    private static bool ReadGzip(SettingsReader reader, string key)
    {
        var raw = reader.GetString(key);
        if (raw is null || string.Equals(raw, "none", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (string.Equals(raw, "gzip", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        reader.Invalid(key, raw, "is not gzip or none", "none");
        return false;
    }

    private static Uri DefaultEndpoint(OtlpProtocol protocol, string path) =>
        protocol == OtlpProtocol.Grpc ? new Uri("http://localhost:4317") : new Uri("http://localhost:4318" + path);

    private static Uri AppendPath(Uri baseUri, string path)
    {
        var text = baseUri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return new Uri(text + path + baseUri.Query);
    }
    private static IReadOnlyList<KeyValuePair<string, string>> ParseHeaders(SettingsReader reader, string key)
    {
        var raw = reader.GetString(key);
        if (raw is null)
        {
            return [];
        }

        // Header values are secrets more often than not: a bad entry is named by its key only.
        var result = new List<KeyValuePair<string, string>>();
        foreach (var pair in ParseKeyValueList(reader, key, raw, hideValues: true))
        {
            if (IsHeaderName(pair.Key) && !pair.Value.Any(char.IsControl))
            {
                result.Add(pair);
            }
            else
            {
                reader.Invalid(key, pair.Key + "=***", "has an entry that is not a valid HTTP header", "the other entries");
            }
        }

        return result;
    }

    private static bool IsHeaderName(string name)
    {
        foreach (var c in name)
        {
            if (c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return name.Length > 0;
    }
}
