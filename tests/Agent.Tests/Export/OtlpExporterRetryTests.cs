using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Tests.Reliability;

namespace TraceAgent.Tests.Export;

/// <summary>
/// A batch the exporter was retrying when the agent stopped: the one line it logs must name the
/// collector's answer that caused the retry, not only that the agent was shutting down.
/// </summary>
[Collection(StandardErrorCollection.Name)]
public sealed class OtlpExporterRetryTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly RecordedSources _recorded = new(new ActivitySource("retry.test"));

    public void Dispose() => _recorded.Dispose();

    [Theory]
    [InlineData(429, 5)]
    [InlineData(502, 5)]
    [InlineData(503, 5)]
    [InlineData(504, 5)]
    [InlineData(500, 1)]
    [InlineData(400, 1)]
    [InlineData(404, 1)]
    public async Task Retryable_answers_get_the_batch_sent_again_up_to_five_attempts_and_any_other_answer_one(int status, int attempts)
    {
        // A collector that gives every request the same answer (retry at once, so the test does not wait on the backoff).
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port;
        var received = 0;
        using var stopServing = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stopServing.IsCancellationRequested)
            {
                using var client = await server.AcceptTcpClientAsync(stopServing.Token);
                await AnswerAsync(client, $"HTTP/1.1 {status} Answer\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", () => Interlocked.Increment(ref received));
            }
        });

        using var exporter = ExporterTo(port);
        var activity = EndedSpan();

        using var captured = new StringWriter();
        var original = AgentLog.RedirectStderr(captured);
        try
        {
            var result = await Task.Run(() => exporter.Export([activity], DateTime.UtcNow.AddMinutes(1), CancellationToken.None)).WaitAsync(Timeout);
            Assert.Equal(ExportResult.Failure, result);
            Assert.Equal(attempts, Volatile.Read(ref received));
            Assert.Contains("failed: HTTP " + status.ToString(System.Globalization.CultureInfo.InvariantCulture), captured.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            AgentLog.RedirectStderr(original);
            stopServing.Cancel();
            server.Stop();
            await Task.WhenAny(serving, Task.Delay(Timeout));
        }
    }

    [Fact]
    public async Task A_batch_given_up_at_exit_while_waiting_to_retry_is_logged_with_the_collectors_answer()
    {
        // A collector that answers 503 with a retry in 60 s and closes the connection: once the
        // exporter has closed its end, it has read the answer and is about to wait for the retry.
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port;
        var answered = Task.Run(async () =>
        {
            using var client = await server.AcceptTcpClientAsync();
            await AnswerAsync(client, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 60\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        });

        using var exporter = ExporterTo(port);
        var activity = EndedSpan();

        using var captured = new StringWriter();
        var original = AgentLog.RedirectStderr(captured);
        try
        {
            using var stop = new CancellationTokenSource();
            var export = Task.Run(() => exporter.Export([activity], DateTime.UtcNow.AddMinutes(5), stop.Token));
            await answered.WaitAsync(Timeout);
            stop.Cancel();

            Assert.Equal(ExportResult.Failure, await export.WaitAsync(Timeout));
            var line = Assert.Single(captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(" warn traces export to ", line, StringComparison.Ordinal);
            Assert.Contains("failed: HTTP 503", line, StringComparison.Ordinal);
            Assert.EndsWith("; the batch is dropped", line.TrimEnd('\r'), StringComparison.Ordinal);
        }
        finally
        {
            AgentLog.RedirectStderr(original);
        }
    }

    private static OtlpExporter<Activity> ExporterTo(int port) => new(
        new OtlpExporterSettings(new Uri($"http://127.0.0.1:{port}/v1/traces"), OtlpProtocol.HttpProtobuf, [], 10_000, Gzip: false),
        new OtlpTraceEncoder([new("service.name", "retry")], new SpanLimits(128, null, 128, 128, 128, 128)).Encode,
        "traces");

    /// <summary>
    /// Reads the exporter's request, calls <paramref name="read"/>, writes <paramref name="answer"/>
    /// and waits for the exporter's close (the rest of the body first): once it closed, it has read the answer.
    /// </summary>
    private static async Task AnswerAsync(TcpClient client, string answer, Action? read = null)
    {
        var stream = client.GetStream();
        await RawCollector.ReadHeadAsync(stream);
        read?.Invoke();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(answer));
        try
        {
            var buffer = new byte[4096];
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (IOException)
        {
            // Reset rather than closed: closed all the same.
        }
    }

    private Activity EndedSpan()
    {
        var activity = _recorded.Source.StartActivity("retried")!;
        activity.Stop();
        return activity;
    }
}
