using System.Net;
using System.Net.Http.Headers;
using TraceAgent.Resources;

namespace TraceAgent.Export.Transport;

/// <summary>
/// The HTTP client every exporter sends with, whatever the signal: the runtime's own
/// SocketsHttpHandler, never traced and never carrying the app's context, through the proxy the
/// environment names, with the exporter's TLS material, and a User-Agent naming the agent.
/// </summary>
internal static class ExportHttp
{
    private static ProductInfoHeaderValue? s_userAgent;

    /// <summary>Sent on every export request, as the OTLP exporter specification recommends.</summary>
    public static string UserAgentText { get; } = "TraceAgent-Exporter-Dotnet/" + ResourceBuilder.AgentVersion;

    /// <summary><see cref="UserAgentText"/> for HttpClient; made when first asked for, so that a process that sends without HttpClient does not load it.</summary>
    public static ProductInfoHeaderValue UserAgent => s_userAgent ??= new("TraceAgent-Exporter-Dotnet", ResourceBuilder.AgentVersion);

    /// <summary>A connection is given at most 5 s, or the export timeout when that is shorter.</summary>
    public static int ConnectTimeoutMilliseconds(int timeoutMilliseconds) => Math.Min(timeoutMilliseconds, 5000);

    public static HttpClient CreateClient(int timeoutMilliseconds, ExportTlsState tls)
    {
        var handler = new SocketsHttpHandler
        {
            // The export call must neither be traced nor carry the app's trace context.
            ActivityHeadersPropagator = null,

            // Nor be counted in the app's own HttpClient metrics.
            MeterFactory = Metrics.AgentMeterFactory.Instance,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromMilliseconds(ConnectTimeoutMilliseconds(timeoutMilliseconds)),

            // HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY (either case), as the runtime reads
            // them for every HttpClient of the process (HttpClient.DefaultProxy).
            UseProxy = true,
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,

            // A response's headers are bounded too (the body is, by OtlpResponse).
            MaxResponseHeadersLength = 64,
        };

        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => tls.Tls.Validate(tls, certificate, chain, errors);
        handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => tls.Tls.SelectClientCertificate(tls)!;

        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }
}
