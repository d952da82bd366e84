using System.Text.Json;
using TraceAgent.IntegrationTests.Infrastructure;

namespace TraceAgent.IntegrationTests.Demo;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DemoCollection : ICollectionFixture<DemoRun>, ICollectionFixture<Viewer.DemoViewer>
{
    public const string Name = "Demo";
}

/// <summary>
/// Runs build/demo.sh --exit once (five processes, PostgreSQL, Redis, a Kafka mock) and keeps what
/// it left: its exit code, its output, artifacts/demo/traces.json and artifacts/demo/traces.db.
/// </summary>
public sealed class DemoRun : IAsyncLifetime
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);

    public int ExitCode { get; private set; }

    public string Output { get; private set; } = "";

    public JsonDocument? Traces { get; private set; }

    public static string TracesPath => Path.Combine(RepoPaths.RepoRoot, "artifacts", "demo", "traces.json");

    public async Task InitializeAsync()
    {
        string root = RepoPaths.RepoRoot;
        bool agentBuilt = File.Exists(RepoPaths.StartupHookPath);
        bool samplesBuilt = File.Exists(Path.Combine(root, "artifacts", "viewer", "traceagent-viewer.dll"))
            && new[] { "Frontend", "Orders", "Worker", "Payments", "KafkaMock" }
                .All(name => File.Exists(Path.Combine(root, "artifacts", "samples", name, $"Sample.{name}.dll")));

        // CI builds dist/agent before the tests: never rebuild it here (other tests run from it).
        var environment = new Dictionary<string, string?>
        {
            ["DEMO_SKIP_BUILD"] = agentBuilt && samplesBuilt ? "1" : null,
            ["DEMO_SKIP_AGENT_BUILD"] = agentBuilt ? "1" : null,
            ["DEMO_TIMEOUT_SECONDS"] = "180",
            ["NO_COLOR"] = "1",
        };

        if (File.Exists(TracesPath))
        {
            File.Delete(TracesPath);
        }

        // --exit: CI has no terminal to press Ctrl+C in; without it the demo keeps the viewer serving.
        using TestProcess demo = TestProcess.Start("bash", [Path.Combine(root, "build", "demo.sh"), "--exit"], environment, workingDirectory: root);
        ExitCode = await demo.WaitForExitAsync(samplesBuilt ? RunTimeout : BuildTimeout);
        Output = demo.Describe($"build/demo.sh exited with {ExitCode}");
        if (File.Exists(TracesPath))
        {
            Traces = JsonDocument.Parse(await File.ReadAllBytesAsync(TracesPath));
        }
    }

    public Task DisposeAsync()
    {
        Traces?.Dispose();
        return Task.CompletedTask;
    }
}

[Collection(DemoCollection.Name)]
public sealed class DemoTests(DemoRun demo)
{
    private const int Server = 2;
    private const int Client = 3;
    private const int Producer = 4;
    private const int Consumer = 5;

    [Fact]
    public void The_demo_succeeds_and_prints_the_traces_with_their_analysis()
    {
        Assert.True(demo.ExitCode == 0, demo.Output);
        Assert.Contains("━━ trace ", demo.Output, StringComparison.Ordinal);
        Assert.Contains("critical path", demo.Output, StringComparison.Ordinal);
        Assert.Contains("N+1 queries", demo.Output, StringComparison.Ordinal);
        Assert.Contains("error origin", demo.Output, StringComparison.Ordinal);
        Assert.True(demo.Traces is not null, $"no {DemoRun.TracesPath}\n{demo.Output}");
    }

    [Fact]
    public void The_demo_prints_the_url_of_each_demo_trace_in_the_viewer()
    {
        Assert.True(demo.Traces is not null, $"no {DemoRun.TracesPath}\n{demo.Output}");
        foreach (string what in new[] { "normal order", "slow payment", "failing order", "catalog (N+1 queries)" })
        {
            string line = demo.Output.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith(what, StringComparison.Ordinal) && l.Contains("/trace/", StringComparison.Ordinal))
                ?? throw new Xunit.Sdk.XunitException($"no URL line for {what}\n{demo.Output}");
            string id = line[(line.IndexOf("/trace/", StringComparison.Ordinal) + "/trace/".Length)..].Trim();
            Assert.Contains(demo.Traces!.RootElement.GetProperty("traces").EnumerateArray(), t => t.GetProperty("traceId").GetString() == id);
            Assert.Matches(@"http://127\.0\.0\.1:\d+/trace/[0-9a-f]{32}", line);
        }

        string slowId = OrderTrace("/payments/bank-transfer").GetProperty("traceId").GetString()!;
        Assert.Contains(demo.Output.Split('\n'), l => l.Contains("slow payment", StringComparison.Ordinal) && l.EndsWith(slowId, StringComparison.Ordinal));
    }

    [Fact]
    public void The_order_trace_holds_spans_of_all_four_services_and_all_five_libraries()
    {
        JsonElement trace = OrderTrace("/payments/card");
        List<JsonElement> spans = Spans(trace);

        Assert.Equal(["frontend", "orders", "payments", "worker"], spans.Select(Service).Distinct().Order());
        Assert.Contains(spans, s => Kind(s) == Server && Service(s) == "frontend" && Attr(s, "http.route") == "/checkout");
        Assert.Contains(spans, s => Kind(s) == Server && Service(s) == "orders" && Attr(s, "http.route") == "/orders");
        Assert.Contains(spans, s => Kind(s) == Client && Service(s) == "frontend" && Attr(s, "http.request.method") == "POST");
        Assert.Contains(spans, s => Kind(s) == Client && Service(s) == "worker" && Attr(s, "http.request.method") == "POST");
        Assert.Contains(spans, s => Service(s) == "orders" && Attr(s, "db.system.name") == "postgresql" && Attr(s, "db.query.summary") == "INSERT orders");
        Assert.Contains(spans, s => Service(s) == "orders" && Attr(s, "db.system.name") == "redis");
        Assert.Contains(spans, s => Kind(s) == Producer && Service(s) == "orders" && Attr(s, "messaging.system") == "kafka" && Attr(s, "messaging.destination.name") == "order.created");
        Assert.Contains(spans, s => Kind(s) == Consumer && Service(s) == "worker" && Attr(s, "messaging.system") == "kafka");
    }

    [Fact]
    public void The_order_trace_is_one_trace_with_correct_parents_across_http_and_kafka()
    {
        JsonElement trace = OrderTrace("/payments/card");
        List<JsonElement> spans = Spans(trace);
        string traceId = trace.GetProperty("traceId").GetString()!;
        Assert.All(spans, s => Assert.Equal(traceId, s.GetProperty("traceId").GetString()));

        JsonElement root = Assert.Single(spans, s => Parent(s).Length == 0);
        Assert.Equal("frontend", Service(root));
        Assert.All(spans.Where(s => Parent(s).Length > 0), s => Assert.Contains(spans, p => Id(p) == Parent(s)));

        JsonElement frontendCall = Assert.Single(spans, s => Kind(s) == Client && Service(s) == "frontend");
        Assert.Equal(Id(root), Parent(frontendCall));
        JsonElement ordersServer = Assert.Single(spans, s => Kind(s) == Server && Service(s) == "orders");
        Assert.Equal(Id(frontendCall), Parent(ordersServer));
        Assert.All(spans.Where(s => Service(s) == "orders" && s.GetProperty("attributes").TryGetProperty("db.system.name", out _)), s => Assert.Equal(Id(ordersServer), Parent(s)));

        JsonElement producer = Assert.Single(spans, s => Kind(s) == Producer);
        Assert.Equal(Id(ordersServer), Parent(producer));
        JsonElement consumer = Assert.Single(spans, s => Kind(s) == Consumer);
        Assert.Equal(Id(producer), Parent(consumer));
        JsonElement workerCall = Assert.Single(spans, s => Kind(s) == Client && Service(s) == "worker");
        Assert.Equal(Id(consumer), Parent(workerCall));
        JsonElement payments = Assert.Single(spans, s => Kind(s) == Server && Service(s) == "payments");
        Assert.Equal(Id(workerCall), Parent(payments));
    }

    [Fact]
    public void The_failing_order_has_error_status_where_the_error_started()
    {
        JsonElement trace = Trace("the failing order", t =>
            Name(t) == "frontend POST /checkout" && Spans(t).Any(s => Kind(s) == Server && Service(s) == "frontend" && Status(s) == 2));
        List<JsonElement> spans = Spans(trace);

        JsonElement finding = Assert.Single(Findings(trace, "error-origin"));
        string originId = finding.GetProperty("spanIds")[0].GetString()!;
        JsonElement origin = Assert.Single(spans, s => Id(s) == originId);
        Assert.Equal(2, Status(origin));
        Assert.Equal("orders", Service(origin));
        Assert.Equal("postgresql", Attr(origin, "db.system.name"));
        Assert.Equal("INSERT orders", Attr(origin, "db.query.summary"));
        Assert.Contains("23514", finding.GetProperty("message").GetString(), StringComparison.Ordinal);

        // The failure travelled up through the orders server and both frontend spans.
        JsonElement ordersServer = Assert.Single(spans, s => Kind(s) == Server && Service(s) == "orders");
        Assert.Equal(2, Status(ordersServer));
        Assert.Contains(Id(ordersServer), finding.GetProperty("spanIds").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void The_n_plus_one_finding_names_the_repeated_query()
    {
        JsonElement trace = Trace("the catalog", t => Name(t) == "frontend GET /catalog");
        List<JsonElement> spans = Spans(trace);

        JsonElement finding = Assert.Single(Findings(trace, "n-plus-one"));
        JsonElement details = finding.GetProperty("details");
        Assert.Equal("SELECT products", details.GetProperty("operation").GetString());
        Assert.Contains("SELECT products", finding.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("WHERE", details.GetProperty("queryText").GetString(), StringComparison.Ordinal);

        // The spans it names are the repeated queries, all under the orders GET /catalog span.
        string[] ids = [.. finding.GetProperty("spanIds").EnumerateArray().Select(e => e.GetString()!)];
        JsonElement parent = Assert.Single(spans, s => Id(s) == ids[0]);
        Assert.Equal("/catalog", Attr(parent, "http.route"));
        Assert.Equal("orders", Service(parent));
        Assert.True(ids.Length - 1 >= 5, finding.GetProperty("message").GetString());
        Assert.All(ids.Skip(1), id => Assert.Equal("SELECT products", Attr(spans.Single(s => Id(s) == id), "db.query.summary")));
    }

    [Fact]
    public void The_slow_endpoint_is_on_the_critical_path()
    {
        JsonElement trace = OrderTrace("/payments/bank-transfer");
        JsonElement slow = Assert.Single(Spans(trace), s => Kind(s) == Server && Attr(s, "http.route") == "/payments/bank-transfer");
        string[] path = [.. trace.GetProperty("criticalPath").EnumerateArray().Select(e => e.GetString()!)];

        Assert.Contains(Id(slow), path);
        Assert.Single(Findings(trace, "critical-path"));
    }

    private JsonElement OrderTrace(string paymentsRoute) =>
        Trace($"the trace through {paymentsRoute}", t => Spans(t).Any(s => Kind(s) == Server && Attr(s, "http.route") == paymentsRoute));

    private JsonElement Trace(string what, Func<JsonElement, bool> match)
    {
        Assert.True(demo.Traces is not null, $"no {DemoRun.TracesPath}\n{demo.Output}");
        List<JsonElement> found = [.. demo.Traces!.RootElement.GetProperty("traces").EnumerateArray().Where(match)];
        Assert.True(found.Count == 1, $"{found.Count} traces match {what}\n{demo.Output}");
        return found[0];
    }

    private static List<JsonElement> Spans(JsonElement trace) => [.. trace.GetProperty("spans").EnumerateArray()];

    private static IEnumerable<JsonElement> Findings(JsonElement trace, string rule) =>
        trace.GetProperty("findings").EnumerateArray().Where(f => f.GetProperty("rule").GetString() == rule);

    private static string Name(JsonElement trace) => trace.GetProperty("name").GetString()!;

    private static string Id(JsonElement span) => span.GetProperty("spanId").GetString()!;

    private static string Parent(JsonElement span) => span.GetProperty("parentSpanId").GetString()!;

    private static string Service(JsonElement span) => span.GetProperty("serviceName").GetString()!;

    private static int Kind(JsonElement span) => span.GetProperty("kind").GetInt32();

    private static int Status(JsonElement span) => span.GetProperty("statusCode").GetInt32();

    private static string? Attr(JsonElement span, string key) =>
        span.GetProperty("attributes").TryGetProperty(key, out JsonElement value)
            ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText()
            : null;
}
