using System.Net;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Database;

/// <summary>Npgsql and EF Core against a real PostgreSQL, at both ends of the supported version range.</summary>
public sealed class DatabaseTests
{
    private const string Password = "s3cr3t-db-password";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("low")]
    [InlineData("high")]
    [InlineData("net8")]
    [InlineData("net9")]
    public async Task Every_command_is_one_client_span_under_its_request(string variant)
    {
        // low: Npgsql 8.0.3, high: Npgsql 10 (both on .NET 10); net8: Npgsql 8.0.9 on .NET 8;
        // net9: Npgsql 9 on .NET 9. Only 8.0.3 records no SQL for an NpgsqlBatch.
        var batchHasSql = variant != "low";
        await using var postgres = await PostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("shop");
        await using var receiver = await OtlpReceiver.StartAsync();
        var connectionString = $"Host=127.0.0.1;Port={postgres.Port};Username=postgres;Password={Password};Database=shop;Pooling=true";
        var environment = AgentEnvironment.For(receiver, "db-app").With(("DATABASE_URL", connectionString));
        using var app = await WebApp.StartAsync("TestApplication.Database-" + variant, environment);
        using var client = new HttpClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(app.BaseUrl + "/db/raw")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(app.BaseUrl + "/db/ef-query")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(app.BaseUrl + "/db/insert", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(app.BaseUrl + "/db/update-tx", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(app.BaseUrl + "/db/batch")).StatusCode);
        var error = await client.GetAsync(app.BaseUrl + "/db/error");
        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal("42601", await error.Content.ReadAsStringAsync());

        var paths = new[] { "/db/raw", "/db/ef-query", "/db/insert", "/db/update-tx", "/db/batch", "/db/error" };
        var spans = await receiver.WaitForSpansAsync(
            all => paths.All(p => all.Any(s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == p)),
            Timeout);
        if (variant.StartsWith("net", StringComparison.Ordinal))
        {
            Assert.All(spans, s => Assert.StartsWith(TestRuntimes.Major(variant) + ".", s.ResourceAttributes["process.runtime.version"] as string, StringComparison.Ordinal));
        }

        List<ReceivedSpan> DbSpansOf(string path)
        {
            var server = spans.Single(s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == path);
            // Command spans: Npgsql 10 also reports physical connection opens, which carry no query.
            return spans.Where(s => s.TraceId == server.TraceId && s.ParentSpanId == server.SpanId && s.Kind == SpanKinds.Client && s.Attribute("db.query.summary") is not null).ToList();
        }

        void AssertCommon(ReceivedSpan span)
        {
            Assert.Equal("postgresql", span.Attribute("db.system.name"));
            Assert.Equal("shop", span.Attribute("db.namespace"));
            Assert.Equal("127.0.0.1", span.Attribute("server.address"));
            Assert.Equal((long)postgres.Port, span.Attribute("server.port"));
            Assert.Null(span.Attribute("db.statement"));
            Assert.Null(span.Attribute("db.system"));
            Assert.Null(span.Attribute("db.connection_string"));
            Assert.Null(span.Attribute("db.user"));
            Assert.Null(span.Attribute("db.name"));
            Assert.Null(span.Attribute("db.connection_id"));
            Assert.Null(span.Attribute("db.npgsql.connection_id"));
            Assert.Null(span.Attribute("db.npgsql.data_source"));
            Assert.DoesNotContain(span.Attributes.Keys, k => k.StartsWith("net.peer.", StringComparison.Ordinal));
        }

        // The user name (Npgsql 8 tags it as db.user) is in no span, nor is the password.
        Assert.DoesNotContain(spans, s => s.Attributes.Values.Any(v => v is string text && (text == "postgres" || text.Contains(Password, StringComparison.Ordinal))));

        var raw = DbSpansOf("/db/raw");
        Assert.Equal(2, raw.Count);

        // Npgsql 10 also makes a span for each physical connection a request opens: the first raw
        // request opened its data source's first connections. Earlier versions make none.
        var rawServer = spans.Single(s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == "/db/raw");
        var opens = spans.Where(s => s.TraceId == rawServer.TraceId && s.Kind == SpanKinds.Client && s.Attribute("db.query.summary") is null).ToList();
        if (variant == "high")
        {
            Assert.NotEmpty(opens);
            Assert.All(opens, open =>
            {
                Assert.Equal("CONNECT shop", open.Name);
                Assert.Equal(rawServer.SpanId, open.ParentSpanId);
                Assert.Null(open.Attribute("db.query.text"));
                AssertCommon(open);
            });
        }
        else
        {
            Assert.Empty(opens);
        }

        var select = raw.Single(s => (s.Attribute("db.query.text") as string)!.Contains("ORDER BY", StringComparison.Ordinal));
        AssertCommon(select);
        Assert.Equal("SELECT id, name FROM items WHERE name = ? ORDER BY id", select.Attribute("db.query.text"));
        Assert.Equal("SELECT items", select.Name);
        Assert.Equal("SELECT", select.Attribute("db.operation.name"));
        Assert.Equal("items", select.Attribute("db.collection.name"));
        var count = raw.Single(s => s != select);
        Assert.Equal("SELECT count(*) FROM items WHERE price > $1", count.Attribute("db.query.text"));

        // Its bound parameter (99) is recorded nowhere.
        Assert.DoesNotContain(count.Attributes, a => a.Key.StartsWith("db.query.parameter", StringComparison.Ordinal) || a.Value is 99L || (a.Value as string)?.Contains("99", StringComparison.Ordinal) == true);

        var ef = Assert.Single(DbSpansOf("/db/ef-query"));
        AssertCommon(ef);
        var efText = (string)ef.Attribute("db.query.text")!;
        Assert.Contains("FROM items", efText, StringComparison.Ordinal);
        Assert.DoesNotContain("123", efText, StringComparison.Ordinal);
        Assert.StartsWith("SELECT", ef.Name, StringComparison.Ordinal);

        var insert = DbSpansOf("/db/insert");
        Assert.Contains(insert, s => s.Attribute("db.operation.name") as string == "INSERT" || (s.Attribute("db.query.summary") as string ?? string.Empty).Contains("INSERT", StringComparison.Ordinal));
        Assert.All(insert, AssertCommon);

        var update = DbSpansOf("/db/update-tx");
        var updateSpan = Assert.Single(update, s => s.Attribute("db.operation.name") as string == "UPDATE");
        Assert.Equal("UPDATE items", updateSpan.Name);
        Assert.Equal("UPDATE items SET price = price + ? WHERE name = ?", updateSpan.Attribute("db.query.text"));

        // A batch and a multi-statement command: one span each, summarising every statement, with
        // the statement count, and no single operation name (semantic conventions for batches).
        var batch = DbSpansOf("/db/batch");
        if (batchHasSql)
        {
            Assert.Equal(2, batch.Count);
            var npgsqlBatch = Assert.Single(batch, s => (s.Attribute("db.query.summary") as string) == "UPDATE items; SELECT items");
            Assert.Equal(2L, npgsqlBatch.Attribute("db.operation.batch.size"));
            Assert.Null(npgsqlBatch.Attribute("db.operation.name"));
            Assert.DoesNotContain("'widget'", (string)npgsqlBatch.Attribute("db.query.text")!, StringComparison.Ordinal);
        }
        else
        {
            // Npgsql 8.0.3 records no SQL for an NpgsqlBatch: its span has the database as its name only.
            var batchServer = spans.Single(s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == "/db/batch");
            Assert.Contains(spans, s => s.ParentSpanId == batchServer.SpanId && s.Name == "shop" && s.Attribute("db.query.text") is null && s.Attribute("db.system.name") as string == "postgresql");
        }

        var multi = Assert.Single(batch, s => (s.Attribute("db.query.summary") as string) == "SELECT; SELECT items");
        Assert.Equal(2L, multi.Attribute("db.operation.batch.size"));
        Assert.Equal("SELECT ?; SELECT name FROM items WHERE price > ?", multi.Attribute("db.query.text"));

        var failed = Assert.Single(DbSpansOf("/db/error"));
        Assert.Equal(2, failed.StatusCode);
        Assert.Equal("42601", failed.Attribute("error.type"));
        Assert.Equal("42601", failed.Attribute("db.response.status_code"));

        // Exactly one span per command: no duplicates of the same statement under one parent.
        foreach (var path in paths)
        {
            var texts = DbSpansOf(path).Select(s => s.Attribute("db.query.text") as string).ToList();
            Assert.Equal(texts.Count, texts.Distinct().Count());
        }

        // No secret anywhere: the password, and the literal that EF inlined.
        foreach (var span in spans)
        {
            foreach (var value in span.Attributes.Values.Concat(span.ResourceAttributes.Values))
            {
                var text = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
                Assert.DoesNotContain(Password, text, StringComparison.Ordinal);
                Assert.DoesNotContain("'widget'", text, StringComparison.Ordinal);
            }
        }

        Assert.DoesNotContain(app.Process.Output, l => l.Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Query_text_can_be_turned_off_or_kept_whole_and_the_switch_removes_the_spans()
    {
        await using var postgres = await PostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("shop");
        await using var receiver = await OtlpReceiver.StartAsync();
        var connectionString = $"Host=127.0.0.1;Port={postgres.Port};Username=postgres;Password={Password};Database=shop";
        using var client = new HttpClient();

        async Task RunAsync(string service, params (string Key, string? Value)[] settings)
        {
            using var app = await WebApp.StartAsync("TestApplication.Database-high", AgentEnvironment.For(receiver, service).With(("DATABASE_URL", connectionString)).With(settings));
            await client.GetAsync(app.BaseUrl + "/db/raw");
            await receiver.WaitForSpansAsync(all => all.Any(s => s.ServiceName == service && (s.Attribute("url.path") as string) == "/db/raw"), Timeout);
        }

        await RunAsync("unsanitized", ("TRACEAGENT_DB_QUERY_SANITIZATION_ENABLED", "false"));
        await RunAsync("no-text", ("TRACEAGENT_DB_QUERY_TEXT_ENABLED", "false"));
        await RunAsync("off", ("OTEL_DOTNET_AUTO_TRACES_NPGSQL_INSTRUMENTATION_ENABLED", "false"), ("OTEL_DOTNET_AUTO_TRACES_ENTITYFRAMEWORKCORE_INSTRUMENTATION_ENABLED", "false"));
        await RunAsync("ef-only", ("OTEL_DOTNET_AUTO_TRACES_NPGSQL_INSTRUMENTATION_ENABLED", "false"));
        var spans = receiver.Spans;
        Assert.Contains(spans, s => s.ServiceName == "unsanitized" && s.Attribute("db.query.text") as string == "SELECT id, name FROM items WHERE name = 'widget' ORDER BY id");
        var noTextSpans = spans.Where(s => s.ServiceName == "no-text" && s.Attribute("db.query.summary") is not null).ToList();
        Assert.NotEmpty(noTextSpans);
        Assert.All(noTextSpans, s => Assert.Null(s.Attribute("db.query.text")));
        Assert.Contains(noTextSpans, s => s.Name == "SELECT items");
        Assert.DoesNotContain(spans, s => s.ServiceName == "off" && s.Attribute("db.system.name") is not null);

        // With Npgsql's spans off, EF Core's events still trace the commands EF runs (and only those).
        var efOnly = spans.Where(s => s.ServiceName == "ef-only" && s.Attribute("db.system.name") is not null).ToList();
        Assert.NotEmpty(efOnly);
        Assert.All(efOnly, s => Assert.Equal("TraceAgent.EntityFrameworkCore", s.ScopeName));
        Assert.DoesNotContain(efOnly, s => (s.Attribute("db.query.text") as string ?? string.Empty).Contains("ORDER BY id", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("low")]
    [InlineData("high")]
    public async Task Command_spans_are_the_same_whether_their_attributes_are_written_as_they_end_or_set_on_the_activity(string variant)
    {
        // With OTLP as the only exporter the attributes a command span did not have are written into
        // its encoding as it ends; with a second exporter they are set on its Activity, which every
        // exporter reads. The same requests must make the same spans either way, from the older
        // names of Npgsql 8 (low) as from the stable ones of Npgsql 10 (high).
        await using var postgres = await PostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("shop");
        var connectionString = $"Host=127.0.0.1;Port={postgres.Port};Username=postgres;Password={Password};Database=shop";
        var paths = new[] { "/db/raw", "/db/ef-query", "/db/batch", "/db/error" };
        var seen = new List<Dictionary<string, string>>();
        foreach (var exporters in new[] { "otlp", "otlp,console" })
        {
            await using var receiver = await OtlpReceiver.StartAsync();
            var environment = AgentEnvironment.For(receiver, "db-app").With(("DATABASE_URL", connectionString), ("OTEL_TRACES_EXPORTER", exporters));
            using var app = await WebApp.StartAsync("TestApplication.Database-" + variant, environment);
            using var client = new HttpClient();
            foreach (var path in paths)
            {
                await client.GetAsync(app.BaseUrl + path);
            }

            var spans = await receiver.WaitForSpansAsync(
                all => paths.All(p => all.Any(s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == p)),
                Timeout);
            var described = new Dictionary<string, string>();
            foreach (var path in paths)
            {
                var server = spans.Single(s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == path);
                var commands = spans
                    .Where(s => s.TraceId == server.TraceId && s.ParentSpanId == server.SpanId && s.Kind == SpanKinds.Client)
                    .Select(s => $"{s.Name}: status {s.StatusCode}; dropped {s.DroppedAttributesCount}; " + string.Join("; ", s.Attributes
                        .OrderBy(a => a.Key, StringComparer.Ordinal)
                        .Select(a => a.Key + "=" + Convert.ToString(a.Value, System.Globalization.CultureInfo.InvariantCulture))))
                    .Order(StringComparer.Ordinal);
                described[path] = string.Join(" | ", commands);
            }

            seen.Add(described);
        }

        Assert.Equal(seen[1], seen[0]);
        Assert.Contains("SELECT items: status 0; dropped 0; ", seen[0]["/db/raw"], StringComparison.Ordinal);
        var raw = seen[0]["/db/raw"].Split(["; ", " | "], StringSplitOptions.None);
        foreach (var attribute in new[] { "db.system.name=postgresql", "db.collection.name=items", "db.namespace=shop", "db.operation.name=SELECT", "db.query.summary=SELECT items", "server.address=127.0.0.1", $"server.port={postgres.Port}" })
        {
            Assert.Contains(attribute, raw);
        }

        Assert.Contains("db.operation.batch.size=2", seen[0]["/db/batch"], StringComparison.Ordinal);
        Assert.Contains("error.type=42601", seen[0]["/db/error"], StringComparison.Ordinal);
        Assert.Contains("db.system.name=postgresql", seen[0]["/db/ef-query"], StringComparison.Ordinal);
    }
}
