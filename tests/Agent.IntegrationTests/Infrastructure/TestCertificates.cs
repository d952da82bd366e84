using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>
/// A private CA made by the test, a server certificate it issues for 127.0.0.1 and localhost, a
/// client certificate it issues, and an unrelated CA; written as PEM files into a temporary folder
/// (what OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_CERTIFICATE and _CLIENT_KEY point at). Deleted on dispose.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory, X509Certificate2 authority, X509Certificate2 server, X509Certificate2 client, X509Certificate2 otherHostServer, X509Certificate2 otherAuthority)
    {
        OtherAuthority = otherAuthority;
        Directory = directory;
        Authority = authority;
        Server = server;
        Client = client;
        OtherHostServer = otherHostServer;
    }

    public string Directory { get; }

    public X509Certificate2 Authority { get; }

    /// <summary>A CA that issued none of these certificates.</summary>
    public X509Certificate2 OtherAuthority { get; }

    /// <summary>With its private key, for the receiver.</summary>
    public X509Certificate2 Server { get; }

    public X509Certificate2 Client { get; }

    /// <summary>Issued by the same CA, with the same subject, for another host (collector.invalid) only.</summary>
    public X509Certificate2 OtherHostServer { get; }

    public string AuthorityPem => Path.Combine(Directory, "ca.pem");

    public string OtherAuthorityPem => Path.Combine(Directory, "other-ca.pem");

    public string ClientCertificatePem => Path.Combine(Directory, "client.pem");

    public string ClientKeyPem => Path.Combine(Directory, "client-key.pem");

    /// <summary>A certificate and key in one file.</summary>
    public string ClientCombinedPem => Path.Combine(Directory, "client-combined.pem");

    /// <summary>The client's RSA key as PKCS#1 ("RSA PRIVATE KEY").</summary>
    public string ClientKeyPkcs1Pem => Path.Combine(Directory, "client-key-pkcs1.pem");

    /// <summary>Another client certificate the CA issued (CN=traceagent-test-ec-client), with an EC (P-256) key.</summary>
    public string EcClientCertificatePem => Path.Combine(Directory, "ec-client.pem");

    /// <summary>Its key as SEC1 ("EC PRIVATE KEY").</summary>
    public string EcClientKeyPem => Path.Combine(Directory, "ec-client-key.pem");

    public static TestCertificates Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), "traceagent-certs-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        using var authorityKey = RSA.Create(2048);
        var authority = CreateAuthority("CN=TraceAgent Test CA", authorityKey);
        using var otherKey = RSA.Create(2048);
        var other = CreateAuthority("CN=Some Other CA", otherKey);

        var server = Issue(authority, authorityKey, "CN=traceagent-test-collector", serverAuth: true);
        var client = Issue(authority, authorityKey, "CN=traceagent-test-client", serverAuth: false);
        var otherHostServer = Issue(authority, authorityKey, "CN=traceagent-test-collector", serverAuth: true, host: "collector.invalid");

        File.WriteAllText(Path.Combine(directory, "ca.pem"), authority.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "other-ca.pem"), other.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "client.pem"), client.ExportCertificatePem());
        using (var key = client.GetRSAPrivateKey()!)
        {
            File.WriteAllText(Path.Combine(directory, "client-key.pem"), key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(directory, "client-combined.pem"), client.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(directory, "client-key-pkcs1.pem"), key.ExportRSAPrivateKeyPem());
        }

        using (var ecKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=traceagent-test-ec-client", ecKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
            var serial = new byte[12];
            RandomNumberGenerator.Fill(serial);
            serial[0] &= 0x7f;
            using var ecClient = request.Create(authority.SubjectName, X509SignatureGenerator.CreateForRSA(authorityKey, RSASignaturePadding.Pkcs1), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
            File.WriteAllText(Path.Combine(directory, "ec-client.pem"), ecClient.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory, "ec-client-key.pem"), ecKey.ExportECPrivateKeyPem());
        }

        return new TestCertificates(directory, authority, server, client, otherHostServer, other);
    }

    private static X509Certificate2 CreateAuthority(string subject, RSA key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    /// <param name="host">A server certificate's only name; by default it names 127.0.0.1 and localhost.</param>
    private static X509Certificate2 Issue(X509Certificate2 authority, RSA authorityKey, string subject, bool serverAuth, string? host = null)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var names = new SubjectAlternativeNameBuilder();
            if (host is null)
            {
                names.AddIpAddress(IPAddress.Loopback);
                names.AddDnsName("localhost");
            }
            else
            {
                names.AddDnsName(host);
            }
            request.CertificateExtensions.Add(names.Build());
        }

        var serial = new byte[12];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7f;
        using var signer = X509Certificate2.CreateFromPem(authority.ExportCertificatePem());
        using var issued = request.Create(authority.SubjectName, X509SignatureGenerator.CreateForRSA(authorityKey, RSASignaturePadding.Pkcs1), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        using var withKey = issued.CopyWithPrivateKey(key);

        // A PKCS#12 round trip gives a key Kestrel and SslStream can use on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temporary folder.
        }
    }
}
