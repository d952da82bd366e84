using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TraceAgent.Configuration;

namespace TraceAgent.Export.Transport;

/// <summary>
/// An exporter's TLS material, read once from PEM files: the CAs that alone are trusted for the
/// collector's certificate (OTEL_EXPORTER_OTLP_CERTIFICATE; without it, the machine's CAs), and the
/// client certificate and key presented when the collector asks for one. Why a handshake failed is
/// kept, so the export failure is one clear line instead of the runtime's generic message.
/// </summary>
internal sealed class ExportTls
{
    private readonly string? _trustVariable;

    private ExportTls(X509Certificate2Collection? trustedRoots, string? trustVariable, X509Certificate2? clientCertificate)
    {
        TrustedRoots = trustedRoots;
        _trustVariable = trustVariable;
        ClientCertificate = clientCertificate;
    }

    public static ExportTls SystemTrust { get; } = new(null, null, null);

    public X509Certificate2Collection? TrustedRoots { get; }

    public X509Certificate2? ClientCertificate { get; }

    /// <summary>Called when the collector asks for a client certificate: the configured one, if any.</summary>
    public X509Certificate? SelectClientCertificate(ExportTlsState state)
    {
        state.ClientCertificateRequested = true;
        return ClientCertificate;
    }

    /// <summary>Reads the files; on failure <paramref name="error"/> names the variable, the path and why.</summary>
    public static bool TryLoad(OtlpTlsSettings? settings, out ExportTls tls, out string? error)
    {
        tls = SystemTrust;
        error = null;
        if (settings is null || settings.IsEmpty)
        {
            return true;
        }

        X509Certificate2Collection? roots = null;
        if (settings.CertificateFile is not null)
        {
            try
            {
                roots = [];
                roots.ImportFromPemFile(settings.CertificateFile);
                if (roots.Count == 0)
                {
                    error = Describe(settings.CertificateVariable, settings.CertificateFile, "holds no PEM certificate");
                    return false;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                error = Describe(settings.CertificateVariable, settings.CertificateFile, ex.Message);
                return false;
            }
        }

        X509Certificate2? client = null;
        if (settings.ClientCertificateFile is not null || settings.ClientKeyFile is not null)
        {
            if (settings.ClientCertificateFile is null)
            {
                error = Describe(settings.ClientKeyVariable, settings.ClientKeyFile!, "is set without a client certificate (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE)");
                return false;
            }

            try
            {
                // Without a key file the key is looked for in the certificate's own file.
                client = X509Certificate2.CreateFromPemFile(settings.ClientCertificateFile, settings.ClientKeyFile);
                if (OperatingSystem.IsWindows())
                {
                    // SChannel cannot use an ephemeral PEM key for client authentication. The
                    // constructor is obsolete from .NET 9 on, but its replacement does not exist in
                    // .NET 8, and the same code builds for every runtime the agent serves.
#pragma warning disable SYSLIB0057
                    client = new X509Certificate2(client.Export(X509ContentType.Pkcs12));
#pragma warning restore SYSLIB0057
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                var variable = settings.ClientKeyFile is not null && ex is CryptographicException or ArgumentException
                    ? settings.ClientCertificateVariable + " / " + settings.ClientKeyVariable
                    : settings.ClientCertificateVariable;
                error = Describe(variable, settings.ClientCertificateFile + (settings.ClientKeyFile is null ? string.Empty : " / " + settings.ClientKeyFile), ex.Message);
                return false;
            }
        }

        tls = new ExportTls(roots, settings.CertificateVariable, client);
        return true;
    }

    /// <summary>The server certificate check: the configured CAs only (when set), and the endpoint's host named.</summary>
    public bool Validate(ExportTlsState state, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            state.LastRejection = "the collector sent no certificate";
            return false;
        }

        var subject = certificate.Subject;
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            state.LastRejection = $"the collector's certificate ({subject}) is not issued for the endpoint's host";
            return false;
        }

        if (TrustedRoots is null)
        {
            if (errors == SslPolicyErrors.None)
            {
                return true;
            }

            state.LastRejection = $"the collector's certificate ({subject}, issued by {certificate.Issuer}) is not trusted by this machine's CAs; set OTEL_EXPORTER_OTLP_CERTIFICATE to its CA";
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(TrustedRoots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            // Intermediates the server sent.
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        if (custom.Build(leaf))
        {
            return true;
        }

        var status = string.Join(", ", custom.ChainStatus.Select(s => s.Status.ToString()).Distinct());
        state.LastRejection = $"the collector's certificate ({subject}, issued by {certificate.Issuer}) is not signed by a CA in {_trustVariable} ({status})";
        return false;
    }

    private static string Describe(string? variable, string path, string reason) =>
        $"{variable}='{path}' cannot be used: {reason.ReplaceLineEndings(" ")}";
}

/// <summary>
/// What one exporter's handshakes said, kept apart from the TLS material (which exporters of
/// several signals share), so each explains its own failures.
/// </summary>
internal sealed class ExportTlsState
{
    private volatile string? _lastRejection;
    private volatile bool _clientCertificateRequested;

    public ExportTlsState(ExportTls tls)
    {
        Tls = tls;
    }

    public ExportTls Tls { get; }

    /// <summary>Why the last server certificate was refused, or null.</summary>
    public string? LastRejection
    {
        get => _lastRejection;
        set => _lastRejection = value;
    }

    /// <summary>
    /// Set when a collector asked for a client certificate during a handshake. With TLS 1.3 a
    /// collector that refuses the client's certificate (or its absence) says so only after the
    /// handshake, as a closed connection; this is how that failure gets a clear explanation.
    /// </summary>
    public bool ClientCertificateRequested
    {
        get => _clientCertificateRequested;
        set => _clientCertificateRequested = value;
    }

    /// <summary>What a failed connection most likely means, when the collector asked for a client certificate.</summary>
    public string? ClientCertificateExplanation => !ClientCertificateRequested ? null
        : Tls.ClientCertificate is null
            ? "the collector asked for a client certificate and none is configured (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_KEY)"
            : $"the collector closed the connection after the client certificate ({Tls.ClientCertificate.Subject}) was presented: it does not accept that certificate or its issuer";
}
