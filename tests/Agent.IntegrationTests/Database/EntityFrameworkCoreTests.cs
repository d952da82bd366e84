using System.Net;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Database;

/// <summary>EF Core on SQLite, whose driver makes no spans: EF Core's own events make them.</summary>
public sealed class EntityFrameworkCoreTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task Ef_core_commands_on_a_provider_without_spans_become_client_spans(string runtime)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync(TestRuntimes.App("TestApplication.EfSqlite", runtime), AgentEnvironment.For(receiver, "ef-sqlite"));
        using var client = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(app.BaseUrl + "/notes")).StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, (await client.GetAsync(app.BaseUrl + "/notes/broken")).StatusCode);

        var spans = await receiver.WaitForSpansAsync(
            all => all.Any(s => (s.Attribute("url.path") as string) == "/notes/broken") && all.Any(s => (s.Attribute("url.path") as string) == "/notes"),
            Timeout);
        var server = spans.Single(s => (s.Attribute("url.path") as string) == "/notes");
        var query = Assert.Single(spans, s => s.ParentSpanId == server.SpanId);
        Assert.Equal(SpanKinds.Client, query.Kind);
        Assert.Equal("sqlite", query.Attribute("db.system.name"));
        Assert.Equal("SELECT Notes", query.Name);
        Assert.Equal("SELECT", query.Attribute("db.operation.name"));
        var text = (string)query.Attribute("db.query.text")!;
        Assert.Contains("FROM \"Notes\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("3", text, StringComparison.Ordinal);
        Assert.True(query.StartTimeUnixNano >= server.StartTimeUnixNano && query.EndTimeUnixNano <= server.EndTimeUnixNano);

        var brokenServer = spans.Single(s => (s.Attribute("url.path") as string) == "/notes/broken");
        var broken = Assert.Single(spans, s => s.ParentSpanId == brokenServer.SpanId);
        Assert.Equal(2, broken.StatusCode);
        Assert.Equal("Microsoft.Data.Sqlite.SqliteException", broken.Attribute("error.type"));
    }
}
