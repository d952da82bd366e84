using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceAgent.IntegrationTests.Infrastructure;

namespace TraceAgent.IntegrationTests.Viewer;

/// <summary>The viewer's store as a user meets it: a real viewer process fed over OTLP/HTTP, stopped and started again.</summary>
public sealed class ViewerStoreTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("traceagent-viewer-").FullName;

    private string DbPath => Path.Combine(_directory, "traces.db");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Traces_survive_a_restart_and_the_count_bound_drops_the_oldest_and_counts_it()
    {
        await using (ViewerProcess viewer = await ViewerProcess.StartAsync("--db", DbPath, "--max-traces", "2"))
        {
            for (int i = 1; i <= 3; i++)
            {
                await PostTraceAsync(viewer, i);
                int expected = i;
                await viewer.WaitForStatusAsync(s => s.GetProperty("traces").GetInt32() + s.GetProperty("dropped").GetInt32() == expected, Timeout);
            }

            JsonElement status = await viewer.WaitForStatusAsync(_ => true, Timeout);
            Assert.Equal(2, status.GetProperty("traces").GetInt32());
            Assert.Equal(1, status.GetProperty("dropped").GetInt32());
            Assert.Equal(DbPath, status.GetProperty("storage").GetString());
            Assert.Equal(HttpStatusCode.NotFound, (await viewer.Http.GetAsync($"/api/traces/{TraceId(1)}")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await viewer.Http.GetAsync($"/api/traces/{TraceId(3)}")).StatusCode);
            Assert.Equal(0, await viewer.StopAsync());
        }

        await using (ViewerProcess again = await ViewerProcess.StartAsync("--db", DbPath, "--max-traces", "2"))
        {
            // The third start-up line: StartAsync returns once the first two were read.
            string kept = await again.Process.WaitForOutputAsync("traces kept in ", Timeout);
            Assert.Contains("(2 kept from earlier runs)", kept, StringComparison.Ordinal);
            JsonElement status = await again.GetJsonAsync("/viewer-api/status");
            Assert.Equal(2, status.GetProperty("traces").GetInt32());
            Assert.Equal(1, status.GetProperty("dropped").GetInt32());
            JsonElement trace = Assert.Single((await again.GetJsonAsync($"/api/traces/{TraceId(3)}")).GetProperty("data").EnumerateArray());
            JsonElement span = Assert.Single(trace.GetProperty("spans").EnumerateArray());
            Assert.Equal("GET /items/3", span.GetProperty("operationName").GetString());
            Assert.Equal("store-test", trace.GetProperty("processes").GetProperty(span.GetProperty("processID").GetString()!).GetProperty("serviceName").GetString());
        }
    }

    [Fact]
    public async Task The_age_bound_drops_traces_older_than_the_maximum_age()
    {
        await using ViewerProcess viewer = await ViewerProcess.StartAsync("--db", DbPath, "--max-age", "1s");
        await PostTraceAsync(viewer, 1);
        JsonElement status = await viewer.WaitForStatusAsync(s => s.GetProperty("dropped").GetInt32() == 1, Timeout);
        Assert.Equal(0, status.GetProperty("traces").GetInt32());
        Assert.Equal(1, status.GetProperty("maxAgeSeconds").GetInt32());
    }

    [Fact]
    public async Task A_memory_only_viewer_writes_no_file_and_starts_empty()
    {
        await using (ViewerProcess viewer = await ViewerProcess.StartAsync("--memory"))
        {
            await PostTraceAsync(viewer, 1);
            JsonElement status = await viewer.WaitForStatusAsync(s => s.GetProperty("traces").GetInt32() == 1, Timeout);
            Assert.Equal("memory", status.GetProperty("storage").GetString());
            Assert.Contains(viewer.Process.Output, line => line.Contains("traces kept in memory only", StringComparison.Ordinal));
        }

        await using ViewerProcess fresh = await ViewerProcess.StartAsync("--memory");
        Assert.Equal(0, (await fresh.GetJsonAsync("/viewer-api/status")).GetProperty("traces").GetInt32());
    }

    [Fact]
    public async Task A_second_viewer_on_the_same_file_exits_with_a_message_that_says_why()
    {
        await using ViewerProcess first = await ViewerProcess.StartAsync("--db", DbPath);
        using TestProcess second = TestProcess.StartDotnet(ViewerProcess.ViewerDll, arguments: ["--db", DbPath, "--http-port", "0", "--grpc-port", "0", "--ui-port", "0"]);
        Assert.Equal(1, await second.WaitForExitAsync(Timeout));
        string error = string.Join('\n', second.StandardError);
        Assert.Contains(DbPath, error, StringComparison.Ordinal);
        Assert.Contains("another process", error, StringComparison.Ordinal);
    }

    private static string TraceId(int n) => n.ToString("x32", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task PostTraceAsync(ViewerProcess viewer, int n)
    {
        ulong start = (ulong)(DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        var request = new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new ResourceSpans
                {
                    Resource = new Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "store-test" } } } },
                    ScopeSpans =
                    {
                        new ScopeSpans
                        {
                            Spans =
                            {
                                new Span
                                {
                                    TraceId = ByteString.CopyFrom(Convert.FromHexString(TraceId(n))),
                                    SpanId = ByteString.CopyFrom(Convert.FromHexString(n.ToString("x16", System.Globalization.CultureInfo.InvariantCulture))),
                                    Name = $"GET /items/{n}",
                                    Kind = Span.Types.SpanKind.Server,
                                    StartTimeUnixNano = start,
                                    EndTimeUnixNano = start + 5_000_000,
                                },
                            },
                        },
                    },
                },
            },
        };

        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var client = new HttpClient();
        using HttpResponseMessage response = await client.PostAsync($"{viewer.OtlpHttp}/v1/traces", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
