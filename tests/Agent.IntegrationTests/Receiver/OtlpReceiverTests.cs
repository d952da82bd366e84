using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Receiver;

public sealed class OtlpReceiverTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly HttpClient _client = new() { Timeout = Timeout };
    private OtlpReceiver _receiver = null!;

    public async Task InitializeAsync() => _receiver = await OtlpReceiver.StartAsync();

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public void ListensOnTwoDistinctPorts()
    {
        Assert.NotEqual(0, _receiver.HttpPort);
        Assert.NotEqual(0, _receiver.GrpcPort);
        Assert.NotEqual(_receiver.HttpPort, _receiver.GrpcPort);
        Assert.Equal($"http://127.0.0.1:{_receiver.HttpPort}", _receiver.HttpEndpoint);
    }

    [Fact]
    public async Task HttpExportIsRecordedAndAcknowledged()
    {
        using HttpRequestMessage request = HttpExport("/v1/traces", OtlpPayloads.TraceRequest());
        request.Headers.Add("x-api-key", "secret-1");

        using HttpResponseMessage response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-protobuf", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());

        ReceivedSpan span = Assert.Single(_receiver.Spans);
        Assert.Equal("GET /orders/{id}", span.Name);
        Assert.Equal("orders-api", span.ServiceName);

        ReceivedRequest received = Assert.Single(_receiver.Requests);
        Assert.Equal(1, _receiver.RequestCount);
        Assert.Equal("http/protobuf", received.Protocol);
        Assert.Equal("traces", received.Signal);
        Assert.Equal("secret-1", received.Header("X-Api-Key"));
        Assert.Equal("application/x-protobuf", received.Header("content-type"));
        Assert.Empty(_receiver.Errors);
    }

    [Fact]
    public async Task HttpExportAcceptsGzip()
    {
        byte[] payload = OtlpPayloads.TraceRequest("gzipped");
        using HttpRequestMessage request = HttpExport("/v1/traces", OtlpPayloads.Gzip(payload));
        request.Content!.Headers.ContentEncoding.Add("gzip");

        using HttpResponseMessage response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gzipped", Assert.Single(_receiver.Spans).Name);
        ReceivedRequest received = Assert.Single(_receiver.Requests);
        Assert.Equal("gzip", received.Header("Content-Encoding"));
        Assert.NotEqual(payload.Length, received.BodyLength);
    }

    [Fact]
    public async Task HttpLogsExportIsRecorded()
    {
        using HttpResponseMessage response = await _client.SendAsync(HttpExport("/v1/logs", OtlpPayloads.LogsRequest()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        ReceivedLogRecord log = Assert.Single(_receiver.Logs);
        Assert.Equal("job {id} failed", log.Body);
        Assert.Empty(_receiver.Spans);
        Assert.Equal("logs", Assert.Single(_receiver.Requests).Signal);
    }

    [Fact]
    public async Task GrpcExportIsRecordedAndAcknowledged()
    {
        using HttpRequestMessage request = GrpcExport(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            OtlpPayloads.GrpcFrame(OtlpPayloads.TraceRequest("over grpc"), compressed: false));
        request.Headers.Add("x-tenant", "acme");

        using HttpResponseMessage response = await _client.SendAsync(request);
        byte[] body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(new byte[5], body);
        Assert.Equal("0", GrpcStatus(response));

        ReceivedSpan span = Assert.Single(_receiver.Spans);
        Assert.Equal("over grpc", span.Name);
        ReceivedRequest received = Assert.Single(_receiver.Requests);
        Assert.Equal("grpc", received.Protocol);
        Assert.Equal("HTTP/2", received.HttpVersion);
        Assert.Equal("acme", received.Header("x-tenant"));
    }

    [Fact]
    public async Task GrpcExportAcceptsCompressedMessage()
    {
        byte[] message = OtlpPayloads.Gzip(OtlpPayloads.TraceRequest("compressed grpc"));
        using HttpRequestMessage request = GrpcExport(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            OtlpPayloads.GrpcFrame(message, compressed: true));
        request.Headers.Add("grpc-encoding", "gzip");

        using HttpResponseMessage response = await _client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();

        Assert.Equal("0", GrpcStatus(response));
        Assert.Equal("compressed grpc", Assert.Single(_receiver.Spans).Name);
        Assert.Equal("gzip", Assert.Single(_receiver.Requests).Header("grpc-encoding"));
    }

    [Fact]
    public async Task GrpcLogsExportIsRecorded()
    {
        using HttpResponseMessage response = await _client.SendAsync(GrpcExport(
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
            OtlpPayloads.GrpcFrame(OtlpPayloads.LogsRequest(), compressed: false)));
        await response.Content.ReadAsByteArrayAsync();

        Assert.Equal("0", GrpcStatus(response));
        Assert.Equal("job.failed", Assert.Single(_receiver.Logs).EventName);
    }

    [Fact]
    public async Task GrpcEndpointRefusesHttp11()
    {
        using HttpRequestMessage request = HttpExport("/v1/traces", OtlpPayloads.TraceRequest());
        request.RequestUri = new Uri($"{_receiver.GrpcEndpoint}/v1/traces");

        // Kestrel answers an HTTP/1.x request on an HTTP/2-only endpoint with a bare 400.
        using HttpResponseMessage response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, _receiver.RequestCount);
    }

    [Fact]
    public async Task UndecodableBodyIsRejectedAndNotRecorded()
    {
        using HttpResponseMessage response = await _client.SendAsync(HttpExport("/v1/traces", [0x0A, 0x05, 0x01]));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(_receiver.Spans);
        Assert.Single(_receiver.Errors);
    }

    [Fact]
    public async Task UnknownPathIsNotFound()
    {
        using HttpResponseMessage response = await _client.SendAsync(HttpExport("/v1/profiles", OtlpPayloads.TraceRequest()));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, _receiver.RequestCount);
    }

    [Fact]
    public async Task StatusModeAnswersWithRetryAfterAndRecordsNothing()
    {
        _receiver.Mode = ReceiverMode.Status(503, retryAfterSeconds: 7);

        using HttpResponseMessage response = await _client.SendAsync(HttpExport("/v1/traces", OtlpPayloads.TraceRequest()));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        Assert.Empty(_receiver.Spans);
        Assert.Equal(1, _receiver.RequestCount);
        Assert.Equal(ReceiverModeKind.Status, Assert.Single(_receiver.Requests).Mode.Kind);

        _receiver.Mode = ReceiverMode.Normal;
        using HttpResponseMessage retried = await _client.SendAsync(HttpExport("/v1/traces", OtlpPayloads.TraceRequest()));

        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Single(_receiver.Spans);
        Assert.Equal(2, _receiver.RequestCount);
    }

    [Fact]
    public async Task StatusModeOverGrpcSendsUnavailableWithRetryInfo()
    {
        _receiver.Mode = ReceiverMode.Status(503, retryAfterSeconds: 3);

        using HttpResponseMessage response = await _client.SendAsync(GrpcExport(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            OtlpPayloads.GrpcFrame(OtlpPayloads.TraceRequest(), compressed: false)));
        await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("14", GrpcStatus(response));
        Assert.True(response.TrailingHeaders.TryGetValues("grpc-status-details-bin", out IEnumerable<string>? details));
        string decoded = System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(details.Single()));
        Assert.Contains("type.googleapis.com/google.rpc.RetryInfo", decoded, StringComparison.Ordinal);
        Assert.Empty(_receiver.Spans);
    }

    [Fact]
    public async Task GarbageModeAnswersSuccessWithUndecodableBody()
    {
        _receiver.Mode = ReceiverMode.Garbage;

        using HttpResponseMessage response = await _client.SendAsync(HttpExport("/v1/traces", OtlpPayloads.TraceRequest()));
        byte[] body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEmpty(body);
        Assert.Throws<FormatException>(() => OtlpDecoder.DecodeTraces(body));
        Assert.Empty(_receiver.Spans);
    }

    [Fact]
    public async Task HangModeHoldsTheRequestUntilDisposal()
    {
        _receiver.Mode = ReceiverMode.Hang;
        Task<HttpResponseMessage> pending = _client.SendAsync(HttpExport("/v1/traces", OtlpPayloads.TraceRequest()));

        await _receiver.WaitForRequestsAsync(requests => requests.Count == 1, Timeout);
        Assert.False(pending.IsCompleted);

        var stopwatch = Stopwatch.StartNew();
        await _receiver.DisposeAsync();
        stopwatch.Stop();

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => pending);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"Disposal took {stopwatch.Elapsed}.");
        Assert.Empty(_receiver.Spans);
    }

    [Fact]
    public async Task WaitForSpansCompletesWhenSpansArrive()
    {
        Task<IReadOnlyList<ReceivedSpan>> waiting = _receiver.WaitForSpansAsync(
            spans => spans.Any(s => s.Name == "second"),
            Timeout);

        await _client.SendAsync(HttpExport("/v1/traces", OtlpPayloads.TraceRequest("first")));
        Assert.False(waiting.IsCompleted);
        await _client.SendAsync(HttpExport("/v1/traces", OtlpPayloads.TraceRequest("second")));

        IReadOnlyList<ReceivedSpan> result = await waiting;
        Assert.Equal(["first", "second"], result.Select(s => s.Name));
    }

    [Fact]
    public async Task WaitForSpansTimeoutListsWhatArrived()
    {
        await _client.SendAsync(HttpExport("/v1/traces", OtlpPayloads.TraceRequest("GET /health", "health-svc")));

        TimeoutException timeout = await Assert.ThrowsAsync<TimeoutException>(() =>
            _receiver.WaitForSpansAsync(spans => spans.Count > 1, TimeSpan.FromMilliseconds(200)));

        Assert.Contains("GET /health [server] service=health-svc", timeout.Message, StringComparison.Ordinal);
        Assert.Contains("trace=0af7651916cd43dd8448eb211c80319c span=b7ad6b7169203331 parent=00f067aa0ba902b7", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SpansReceivedIsRaisedPerExportAndSurvivesFaultySubscribers()
    {
        var raised = new TaskCompletionSource<IReadOnlyList<ReceivedSpan>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _receiver.SpansReceived += _ => throw new InvalidOperationException("subscriber bug");
        _receiver.SpansReceived += spans => raised.TrySetResult(spans);

        using HttpResponseMessage response = await _client.SendAsync(HttpExport("/v1/traces", OtlpPayloads.TraceRequest("evented")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        IReadOnlyList<ReceivedSpan> spans = await raised.Task.WaitAsync(Timeout);
        Assert.Equal("evented", Assert.Single(spans).Name);
    }

    [Fact]
    public async Task ClearForgetsEverything()
    {
        await _client.SendAsync(HttpExport("/v1/traces", OtlpPayloads.TraceRequest()));
        Assert.Single(_receiver.Spans);

        _receiver.Clear();

        Assert.Empty(_receiver.Spans);
        Assert.Equal(0, _receiver.RequestCount);
    }

    private HttpRequestMessage HttpExport(string path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return new HttpRequestMessage(HttpMethod.Post, $"{_receiver.HttpEndpoint}{path}") { Content = content };
    }

    private HttpRequestMessage GrpcExport(string path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        var request = new HttpRequestMessage(HttpMethod.Post, $"{_receiver.GrpcEndpoint}{path}")
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        return request;
    }

    private static string? GrpcStatus(HttpResponseMessage response) =>
        response.TrailingHeaders.TryGetValues("grpc-status", out IEnumerable<string>? values) ? values.Single() : null;
}
