using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Diagnostics;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Tests.Reliability;

namespace TraceAgent.Tests.Export;

/// <summary>The exporter's size limits against real HTTP servers started by the test.</summary>
[Collection(StandardErrorCollection.Name)]
public sealed class OtlpExporterLimitsTests : IDisposable
{
    private readonly RecordedSources _recorded = new(new ActivitySource("limits.test"));

    public void Dispose() => _recorded.Dispose();

    [Fact]
    public async Task An_item_too_large_for_any_request_is_dropped_and_counted_and_the_others_arrive()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var activities = new List<Activity>();
        foreach (var size in new[] { 10, 200_000, 10, 10 })
        {
            var activity = _recorded.Source.StartActivity("span-" + size)!;
            activity.SetTag("payload", new string('p', size));
            activity.Stop();
            activities.Add(activity);
        }

        // A 64 KiB request limit instead of 4 MiB, so the test stays small.
        using var exporter = Exporter(receiver.HttpEndpoint + "/v1/traces", OtlpProtocol.HttpProtobuf, maxRequestBytes: 64 * 1024);
        using var lines = new StringWriter();
        var original = AgentLog.RedirectStderr(lines);
        ExportResult result;
        ExportResult second;
        try
        {
            result = exporter.Export(activities, DateTime.UtcNow.AddSeconds(30), CancellationToken.None);
            second = exporter.Export(activities.GetRange(0, 2), DateTime.UtcNow.AddSeconds(30), CancellationToken.None);
        }
        finally
        {
            AgentLog.RedirectStderr(original);
        }

        Assert.Equal(1, result.LostOf(activities.Count));
        Assert.Equal(1, second.LostOf(2));
        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 4, TimeSpan.FromSeconds(30));
        Assert.Equal(["span-10", "span-10", "span-10", "span-10"], spans.Select(s => s.Name));
        Assert.All(receiver.Requests, r => Assert.True(r.BodyLength <= 64 * 1024));

        // Said once, however many batches carry such an item, with the way out.
        var said = Assert.Single(lines.ToString().Split('\n'), l => l.Contains("alone encodes to", StringComparison.Ordinal));
        Assert.Contains("more than a request may carry (65536 bytes); it is dropped (limit attribute values with OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT)", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_huge_answer_is_not_read_whole_and_the_status_decides()
    {
        // A "collector" that answers 200 with 50 MiB: the exporter stops reading past 1 MiB.
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port;
        var sent = Task.Run(async () =>
        {
            using var client = await server.AcceptTcpClientAsync();
            var stream = client.GetStream();
            await RawCollector.ReadHeadAsync(stream);

            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 52428800\r\n\r\n"u8.ToArray());
            var chunk = new byte[64 * 1024];
            long written = 0;
            try
            {
                while (written < 50L * 1024 * 1024)
                {
                    await stream.WriteAsync(chunk);
                    written += chunk.Length;
                }
            }
            catch (IOException)
            {
                // The exporter hung up.
            }

            return written;
        });

        var activity = _recorded.Source.StartActivity("one")!;
        activity.Stop();
        using var exporter = Exporter($"http://127.0.0.1:{port}/v1/traces", OtlpProtocol.HttpProtobuf);
        var result = exporter.Export([activity], DateTime.UtcNow.AddSeconds(30), CancellationToken.None);

        Assert.Equal(ExportResult.Success, result);
        Assert.True(await sent.WaitAsync(TimeSpan.FromSeconds(30)) < 50L * 1024 * 1024, "the exporter must stop reading, not drain 50 MiB");
    }

    private static OtlpExporter<Activity> Exporter(string endpoint, OtlpProtocol protocol, int maxRequestBytes = OtlpExporter<Activity>.MaxRequestBytes)
    {
        var settings = new OtlpExporterSettings(new Uri(endpoint), protocol, [], 10_000, Gzip: false);
        var encoder = new OtlpTraceEncoder([new("service.name", "limits")], new SpanLimits(128, null, 128, 128, 128, 128));
        return new OtlpExporter<Activity>(settings, encoder.Encode, "traces", maxRequestBytes: maxRequestBytes);
    }
}
