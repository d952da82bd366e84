using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using TraceAgent.Export;

namespace TraceAgent.Tests.Export;

/// <summary>The Zipkin exporter posting to a real HTTP listener the test starts.</summary>
public sealed class ZipkinExporterTests
{
    [Fact]
    public async Task Array_attributes_are_written_as_json_values_not_as_type_names()
    {
        using var recorded = new RecordedSources(new ActivitySource("zipkin.test"));
        var activity = recorded.Source.StartActivity("GET /", ActivityKind.Server)!;
        activity.SetTag("strings", new[] { "a", "b \"quoted\"" });
        activity.SetTag("longs", new long[] { 1, -2 });
        activity.SetTag("doubles", new[] { 1.5, double.NaN });
        activity.SetTag("bools", new[] { true, false });
        activity.SetTag("with.null", new string?[] { "x", null });
        activity.SetTag("plain", 42);

        // A null key (Activity.AddTag takes one) is left out; the JSON writer would refuse it.
        activity.AddTag(null!, "no key");
        activity.Stop();

        var port = FreePort();
        using var http = new HttpListener();
        http.Prefixes.Add($"http://127.0.0.1:{port}/");
        http.Start();
        var received = Task.Run(async () =>
        {
            var context = await http.GetContextAsync();
            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            var userAgent = context.Request.UserAgent;
            context.Response.StatusCode = 202;
            context.Response.Close();
            return (body, userAgent);
        });

        using var exporter = new ZipkinExporter(new Uri($"http://127.0.0.1:{port}/api/v2/spans"), "zipkin-service", 5000);
        var result = exporter.Export([activity], DateTime.UtcNow.AddSeconds(10), CancellationToken.None);
        var (json, agent) = await received.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ExportResult.Success, result);
        Assert.StartsWith("TraceAgent-Exporter-Dotnet/", agent, StringComparison.Ordinal);
        var tags = JsonDocument.Parse(json).RootElement[0].GetProperty("tags");
        Assert.Equal("[\"a\",\"b \\\"quoted\\\"\"]", tags.GetProperty("strings").GetString());
        Assert.Equal("[1,-2]", tags.GetProperty("longs").GetString());
        Assert.Equal("[1.5,\"NaN\"]", tags.GetProperty("doubles").GetString());
        Assert.Equal("[true,false]", tags.GetProperty("bools").GetString());
        Assert.Equal("[\"x\",null]", tags.GetProperty("with.null").GetString());
        Assert.Equal("42", tags.GetProperty("plain").GetString());
        Assert.DoesNotContain("System.", json, StringComparison.Ordinal);
        Assert.DoesNotContain("no key", json, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_whose_ToString_throws_leaves_its_tag_out()
    {
        Assert.Null(ZipkinExporter.TagValue(new ThrowingToString()));
        Assert.Null(ZipkinExporter.TagValue(new object[] { "a", new ThrowingToString() }));
        Assert.Equal("[\"a\",\"b\"]", ZipkinExporter.TagValue(new object[] { "a", "b" }));
        Assert.Equal("7", ZipkinExporter.TagValue(7m));
    }

    private sealed class ThrowingToString
    {
        public override string ToString() => throw new InvalidOperationException("ToString fails on purpose");
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
