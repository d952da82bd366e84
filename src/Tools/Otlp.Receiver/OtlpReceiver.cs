using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TraceAgent.Otlp.Receiver;

/// <summary>
/// An in-process OTLP endpoint on 127.0.0.1 that keeps every span and log record it is sent:
/// OTLP/HTTP protobuf on <see cref="HttpPort"/> and OTLP/gRPC on <see cref="GrpcPort"/>.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    // Requests still running at shutdown are hanging ones, released by _stopping; anything else
    // gets this long before Kestrel cuts the connections.
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(2);

    private readonly WebApplication _app;
    private readonly ReceivedData _data;
    private readonly ReceivedMetricsStore _metrics = new();
    private readonly CancellationTokenSource _stopping;
    private ReceiverMode _mode = ReceiverMode.Normal;
    private int _disposed;

    private OtlpReceiver(WebApplication app, ReceivedData data, CancellationTokenSource stopping)
    {
        _app = app;
        _data = data;
        _stopping = stopping;
    }

    /// <summary>Raised on a Kestrel thread after each accepted trace export; handler exceptions are swallowed.</summary>
    public event Action<IReadOnlyList<ReceivedSpan>>? SpansReceived;

    /// <summary>Raised on a Kestrel thread after each accepted logs export; handler exceptions are swallowed.</summary>
    public event Action<IReadOnlyList<ReceivedLogRecord>>? LogsReceived;

    /// <summary>Raised on a Kestrel thread after each accepted metrics export; handler exceptions are swallowed.</summary>
    public event Action<IReadOnlyList<ReceivedMetric>>? MetricsReceived;

    public int HttpPort { get; private set; }

    public int GrpcPort { get; private set; }

    /// <summary>Base URL for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> with protocol http/protobuf.</summary>
    public string HttpEndpoint => $"{Scheme}://127.0.0.1:{HttpPort}";

    /// <summary>Base URL for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> with protocol grpc.</summary>
    public string GrpcEndpoint => $"{Scheme}://127.0.0.1:{GrpcPort}";

    /// <summary>"https" when the receiver was started with a server certificate.</summary>
    public string Scheme { get; private set; } = "http";

    /// <summary>How export requests are answered from now on; faulted requests record no spans or logs.</summary>
    public ReceiverMode Mode
    {
        get => Volatile.Read(ref _mode);
        set => Volatile.Write(ref _mode, value ?? ReceiverMode.Normal);
    }

    public IReadOnlyList<ReceivedSpan> Spans => _data.Spans;

    public IReadOnlyList<ReceivedLogRecord> Logs => _data.Logs;

    /// <summary>The metrics received (OTLP/HTTP /v1/metrics and the gRPC MetricsService), decoded with the official OTLP classes; the latest 100,000 at most, none when <see cref="OtlpReceiverOptions.RetainReceived"/> is off.</summary>
    public IReadOnlyList<ReceivedMetric> Metrics => _metrics.Metrics;

    /// <summary>Every export request that reached a known path, in arrival order, whatever the mode.</summary>
    public IReadOnlyList<ReceivedRequest> Requests => _data.Requests;

    public int RequestCount => _data.RequestCount;

    /// <summary>Why requests were rejected (undecodable protobuf, bad framing, unsupported encoding).</summary>
    public IReadOnlyList<string> Errors => _data.Errors;

    public static async Task<OtlpReceiver> StartAsync(OtlpReceiverOptions? options = null)
    {
        options ??= new OtlpReceiverOptions();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });

        // The receiver runs inside test hosts and tools whose environment and appsettings are
        // not its own: ASPNETCORE_URLS or a Kestrel section must not add or move endpoints.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();

        // The default console lifetime would hook Ctrl+C and SIGTERM for the whole process.
        builder.Services.AddSingleton<IHostLifetime, PassiveHostLifetime>();

        ListenOptions? httpListen = null;
        ListenOptions? grpcListen = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodySize;
            kestrel.Listen(IPAddress.Loopback, options.HttpPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                UseTls(listen, options);
                httpListen = listen;
            });
            kestrel.Listen(IPAddress.Loopback, options.GrpcPort, listen =>
            {
                // HTTP/2 only on a cleartext endpoint means prior knowledge, which is how gRPC clients connect.
                listen.Protocols = HttpProtocols.Http2;
                UseTls(listen, options);
                grpcListen = listen;
            });
        });

        WebApplication app = builder.Build();
        var data = new ReceivedData();
        var stopping = new CancellationTokenSource();
        var receiver = new OtlpReceiver(app, data, stopping);
        var handler = new ExportHandler(data, () => receiver.Mode, receiver.RaiseSpans, receiver.RaiseLogs, stopping.Token, options.DiscardData, options.RetainReceived, receiver._metrics, receiver.RaiseMetrics);
        app.Run(handler.HandleAsync);

        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            stopping.Dispose();
            throw;
        }

        // Kestrel writes the bound endpoint back into the listen options, which is how port 0 resolves.
        receiver.Scheme = options.ServerCertificate is null ? "http" : "https";
        receiver.HttpPort = httpListen!.IPEndPoint!.Port;
        receiver.GrpcPort = grpcListen!.IPEndPoint!.Port;
        return receiver;
    }

    private static void UseTls(ListenOptions listen, OtlpReceiverOptions options)
    {
        if (options.ServerCertificate is null)
        {
            return;
        }

        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificate = options.ServerCertificate,
            ClientCertificateMode = options.RequiredClientCertificateAuthority is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = options.RequiredClientCertificateAuthority is not { } authority ? null : (certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(authority);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate);
            },
        });
    }

    /// <summary>Completes with the spans received so far as soon as <paramref name="until"/> holds for them.</summary>
    /// <exception cref="TimeoutException">Listing every span received, when the condition never held.</exception>
    public Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(Func<IReadOnlyList<ReceivedSpan>, bool> until, TimeSpan timeout) =>
        _data.WaitForSpansAsync(until, timeout);

    public Task<IReadOnlyList<ReceivedLogRecord>> WaitForLogsAsync(Func<IReadOnlyList<ReceivedLogRecord>, bool> until, TimeSpan timeout) =>
        _data.WaitForLogsAsync(until, timeout);

    public Task<IReadOnlyList<ReceivedMetric>> WaitForMetricsAsync(Func<IReadOnlyList<ReceivedMetric>, bool> until, TimeSpan timeout) =>
        _metrics.WaitAsync(until, timeout);

    /// <summary>Like <see cref="WaitForSpansAsync"/> over raw requests, for fault tests that count retries.</summary>
    public Task<IReadOnlyList<ReceivedRequest>> WaitForRequestsAsync(Func<IReadOnlyList<ReceivedRequest>, bool> until, TimeSpan timeout) =>
        _data.WaitForRequestsAsync(until, timeout);

    /// <summary>Forgets everything received so far.</summary>
    public void Clear()
    {
        _data.Clear();
        _metrics.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        using (var grace = new CancellationTokenSource(ShutdownGrace))
        {
            try
            {
                await _app.StopAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Kestrel aborts the remaining connections itself once the grace period ends.
            }
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private void RaiseSpans(IReadOnlyList<ReceivedSpan> spans) => Raise(SpansReceived, spans);

    private void RaiseLogs(IReadOnlyList<ReceivedLogRecord> logs) => Raise(LogsReceived, logs);

    private void RaiseMetrics(IReadOnlyList<ReceivedMetric> metrics) => Raise(MetricsReceived, metrics);

    private static void Raise<T>(Action<IReadOnlyList<T>>? handlers, IReadOnlyList<T> items)
    {
        if (handlers is null || items.Count == 0)
        {
            return;
        }

        foreach (Action<IReadOnlyList<T>> handler in handlers.GetInvocationList().Cast<Action<IReadOnlyList<T>>>())
        {
            try
            {
                handler(items);
            }
            catch (Exception)
            {
                // A subscriber's bug (the viewer's, say) must not turn into a failed export for the exporter.
            }
        }
    }
}
