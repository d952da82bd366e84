using System.Globalization;
using System.Net;
using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using TraceAgent.IntegrationTests.Infrastructure;

namespace TraceAgent.IntegrationTests.Viewer;

/// <summary>
/// The viewer's metrics page and API, fed by a real web app under the agent exporting its metrics
/// and traces to a real viewer process: requests of known count, outcome and route, then the
/// numbers the viewer computes, checked against what was sent and against the traces it received.
/// </summary>
public sealed class ViewerMetricsTests(ViewerMetricsTests.MetricsRun run) : IClassFixture<ViewerMetricsTests.MetricsRun>
{
    private const string Service = "metrics-viewer";
    private const string SlowRoute = "/slow/{ms:int}";
    private const string StatusRoute = "/status/{code:int}";
    private const string ThrowRoute = "/throw";
    private const int SlowMs = 150;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The boundaries ASP.NET Core gives http.server.request.duration (the conventions' advice), in seconds.</summary>
    private static readonly double[] SecondsBounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>What was sent: route, requests, of which errors (a 500 answer; the throwing route also has error.type).</summary>
    private static readonly (string Route, int Requests, int Errors)[] Sent = [(SlowRoute, 6, 0), (StatusRoute, 5, 3), (ThrowRoute, 2, 2)];

    [Fact]
    public async Task The_api_gives_each_route_its_request_rate_error_rate_percentiles_within_the_requests_buckets_and_exemplars_that_are_stored_traces()
    {
        (ViewerProcess viewer, JsonElement metrics) = await run.ReadyAsync();
        double windowSeconds = metrics.GetProperty("windowSeconds").GetDouble();
        Assert.Equal(300, windowSeconds);
        JsonElement service = Assert.Single(metrics.GetProperty("services").EnumerateArray(), s => s.GetProperty("service").GetString() == Service);

        foreach ((string route, int requests, int errors) in Sent)
        {
            JsonElement row = Row(service, route);
            Assert.Equal("GET", row.GetProperty("method").GetString());
            Assert.Equal(requests, row.GetProperty("requests").GetInt32());
            Assert.Equal(errors, row.GetProperty("errors").GetInt32());
            Assert.Equal(requests / windowSeconds, row.GetProperty("ratePerSecond").GetDouble(), 9);
            Assert.Equal((double)errors / requests, row.GetProperty("errorRate").GetDouble(), 9);
        }

        // The percentiles of the slow route lie within the buckets its requests' durations fall
        // into, the durations read from the server spans the viewer received (not from the metrics).
        double[] durations = await ServerSpanSecondsAsync(viewer, SlowRoute, 6);
        // Task.Delay's timer counts whole milliseconds and may fire up to one early.
        Assert.All(durations, d => Assert.True(d >= (SlowMs - 2) / 1000.0, $"{d} s"));
        int lowest = Bucket(durations.Min());
        int highest = Bucket(durations.Max());
        double lower = lowest == 0 ? 0 : SecondsBounds[lowest - 1];
        double upper = highest < SecondsBounds.Length ? SecondsBounds[highest] : double.MaxValue;
        JsonElement slow = Row(service, SlowRoute);
        double p50 = slow.GetProperty("p50Us").GetDouble() / 1e6;
        double p95 = slow.GetProperty("p95Us").GetDouble() / 1e6;
        double p99 = slow.GetProperty("p99Us").GetDouble() / 1e6;
        Assert.InRange(p50, lower, upper);
        Assert.InRange(p95, lower, upper);
        Assert.InRange(p99, lower, upper);
        Assert.True(p50 <= p95 && p95 <= p99, $"p50 {p50}, p95 {p95}, p99 {p99}");

        // The points' minimum narrows the lowest bucket: no request took less than its delay, nor does the median.
        Assert.True(p50 >= SlowMs / 1000.0, $"p50 {p50} s");
        // Every exemplar is a trace the viewer has, holding the exemplar's span: the request of that route.
        foreach ((string route, _, int errors) in Sent)
        {
            JsonElement[] exemplars = [.. Row(service, route).GetProperty("exemplars").EnumerateArray()];
            Assert.NotEmpty(exemplars);
            foreach (JsonElement exemplar in exemplars)
            {
                Assert.True(exemplar.GetProperty("stored").GetBoolean(), exemplar.ToString());
                string traceId = exemplar.GetProperty("traceId").GetString()!;
                string spanId = exemplar.GetProperty("spanId").GetString()!;
                JsonElement trace = Assert.Single((await viewer.GetJsonAsync($"/api/traces/{traceId}")).GetProperty("data").EnumerateArray());
                JsonElement span = Assert.Single(trace.GetProperty("spans").EnumerateArray(), s => s.GetProperty("spanID").GetString() == spanId);
                Assert.Equal(route, Tag(span, "http.route"));
                double spanSeconds = span.GetProperty("duration").GetDouble() / 1e6;
                Assert.InRange(exemplar.GetProperty("durationUs").GetDouble() / 1e6, 0, spanSeconds + 0.001);
                if (errors == Row(service, route).GetProperty("requests").GetInt32())
                {
                    Assert.True(exemplar.GetProperty("error").GetBoolean());
                    Assert.Equal("500", Tag(span, "http.response.status_code"));
                }
            }
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await viewer.Http.GetAsync("/viewer-api/metrics?window=2h")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await viewer.Http.GetAsync("/viewer-api/metrics?window=soon")).StatusCode);
    }

    [Fact]
    public async Task The_metrics_page_shows_the_routes_and_an_exemplar_opens_its_trace()
    {
        (ViewerProcess viewer, JsonElement metrics) = await run.ReadyAsync();
        ChromeDriver browser = run.Browser();
        browser.Navigate().GoToUrl($"{viewer.Ui}/metrics");
        IWebElement row = WaitUntil(browser, b => b.FindElements(By.CssSelector($".metrics-service[data-service='{Service}'] .metrics-row[data-route='{SlowRoute}']")).FirstOrDefault());
        IReadOnlyList<IWebElement> cells = row.FindElements(By.TagName("td"));
        Assert.Equal("6", cells[2].Text);
        Assert.Equal("0", cells[4].Text);
        IWebElement status = browser.FindElement(By.CssSelector($".metrics-row[data-route='{StatusRoute}']"));
        Assert.Equal("3", status.FindElements(By.TagName("td"))[4].Text);
        Assert.Equal("60%", status.FindElements(By.TagName("td"))[5].Text);
        Assert.Contains("active", browser.FindElement(By.CssSelector("#nav a[data-page='metrics']")).GetDomAttribute("class") ?? "", StringComparison.Ordinal);
        Screenshot(browser, "metrics", docs: true);

        // The first exemplar of the failing route leads to its trace, with the exemplar's span in the waterfall.
        JsonElement service = metrics.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("service").GetString() == Service);
        IWebElement link = status.FindElements(By.CssSelector("a.exemplar")).First();
        string traceId = link.GetDomAttribute("data-trace-id")!;
        JsonElement exemplar = Row(service, StatusRoute).GetProperty("exemplars").EnumerateArray().FirstOrDefault(e => e.GetProperty("traceId").GetString() == traceId);
        Assert.Equal(JsonValueKind.Object, exemplar.ValueKind);
        link.Click();
        string spanId = exemplar.GetProperty("spanId").GetString()!;
        WaitUntil(browser, b => b.FindElements(By.CssSelector($".wf-row[data-span-id='{spanId}']")).FirstOrDefault());
        Assert.EndsWith($"/trace/{traceId}", browser.Url, StringComparison.Ordinal);
        Screenshot(browser, "metrics-exemplar-trace");
    }

    private static JsonElement Row(JsonElement service, string route) =>
        Assert.Single(service.GetProperty("routes").EnumerateArray(), r => r.GetProperty("route").GetString() == route);

    private static int Bucket(double seconds)
    {
        int index = Array.FindIndex(SecondsBounds, b => seconds <= b);
        return index < 0 ? SecondsBounds.Length : index;
    }

    private static string? Tag(JsonElement span, string key)
    {
        foreach (JsonElement tag in span.GetProperty("tags").EnumerateArray())
        {
            if (tag.GetProperty("key").GetString() == key)
            {
                JsonElement value = tag.GetProperty("value");
                return value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
            }
        }

        return null;
    }

    /// <summary>The durations of the route's server spans in the viewer, once it holds <paramref name="count"/> of them.</summary>
    private static async Task<double[]> ServerSpanSecondsAsync(ViewerProcess viewer, string route, int count)
    {
        string tags = Uri.EscapeDataString($"{{\"http.route\":\"{route}\",\"span.kind\":\"server\"}}");
        for (int attempt = 0; ; attempt++)
        {
            JsonElement found = await viewer.GetJsonAsync($"/api/traces?service={Service}&tags={tags}&limit=100");
            double[] durations = [.. found.GetProperty("data").EnumerateArray()
                .SelectMany(t => t.GetProperty("spans").EnumerateArray())
                .Where(s => Tag(s, "http.route") == route && Tag(s, "span.kind") == "server")
                .Select(s => s.GetProperty("duration").GetDouble() / 1e6)];
            if (durations.Length == count || attempt >= 600)
            {
                Assert.Equal(count, durations.Length);
                return durations;
            }

            await Task.Delay(100);
        }
    }

    private static T WaitUntil<T>(ChromeDriver browser, Func<IWebDriver, T?> condition)
    {
        var wait = new WebDriverWait(browser, TimeSpan.FromSeconds(30)) { PollingInterval = TimeSpan.FromMilliseconds(100) };
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException));
        try
        {
            return wait.Until(b => condition(b) is T value && !Equals(value, false) ? value : default)!;
        }
        catch (WebDriverTimeoutException)
        {
            string path = Screenshot(browser, "failed-metrics-" + DateTime.UtcNow.Ticks.ToString(CultureInfo.InvariantCulture));
            throw new WebDriverTimeoutException($"the page never got there; {browser.Url}; screenshot {path}\n{browser.FindElement(By.TagName("main")).Text}");
        }
    }

    private static string Screenshot(ChromeDriver browser, string name, bool docs = false)
    {
        Directory.CreateDirectory(DemoViewer.ScreenshotDirectory);
        string path = Path.Combine(DemoViewer.ScreenshotDirectory, name + ".png");
        browser.GetScreenshot().SaveAsFile(path);
        if (docs)
        {
            Directory.CreateDirectory(DemoViewer.DocsImages);
            File.Copy(path, Path.Combine(DemoViewer.DocsImages, "viewer-" + name + ".png"), overwrite: true);
        }

        return path;
    }

    /// <summary>
    /// One viewer and one TestApplication.Web under the agent (metrics every 200 ms), sent the
    /// requests of <see cref="Sent"/> once; the tests wait until the viewer's metrics count them all.
    /// </summary>
    public sealed class MetricsRun : IAsyncLifetime
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private ViewerProcess? _viewer;
        private WebApp? _app;
        private ChromeDriver? _browser;
        private JsonElement? _metrics;

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task<(ViewerProcess Viewer, JsonElement Metrics)> ReadyAsync()
        {
            await _gate.WaitAsync();
            try
            {
                if (_metrics is null)
                {
                    _viewer = await ViewerProcess.StartAsync("--memory");
                    _app = await WebApp.StartAsync("TestApplication.Web", new Dictionary<string, string?>
                    {
                        ["DOTNET_STARTUP_HOOKS"] = RepoPaths.StartupHookPath,
                        ["OTEL_SERVICE_NAME"] = Service,
                        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _viewer.OtlpHttp,
                        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                        ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
                        ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
                        ["ASPNETCORE_ENVIRONMENT"] = "Production",
                        ["DOTNET_gcServer"] = "0",
                    });
                    using var client = new HttpClient { BaseAddress = new Uri(_app.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
                    for (int i = 0; i < 6; i++)
                    {
                        await ExpectAsync(client, $"/slow/{SlowMs}", HttpStatusCode.OK);
                    }

                    for (int i = 0; i < 3; i++)
                    {
                        await ExpectAsync(client, "/status/500", HttpStatusCode.InternalServerError);
                    }

                    for (int i = 0; i < 2; i++)
                    {
                        await ExpectAsync(client, "/status/404", HttpStatusCode.NotFound);
                        await ExpectAsync(client, "/throw", HttpStatusCode.InternalServerError);
                    }

                    _metrics = await WaitForCountsAsync(_viewer);
                }

                return (_viewer!, _metrics.Value);
            }
            finally
            {
                _gate.Release();
            }
        }

        public ChromeDriver Browser() => _browser ??= DemoViewer.StartChromium();

        public async Task DisposeAsync()
        {
            _browser?.Quit();
            _browser?.Dispose();
            _app?.Dispose();
            if (_viewer is not null)
            {
                await _viewer.DisposeAsync();
            }
        }

        private static async Task ExpectAsync(HttpClient client, string path, HttpStatusCode expected)
        {
            using HttpResponseMessage response = await client.GetAsync(path);
            Assert.Equal(expected, response.StatusCode);
        }

        /// <summary>Polls the last 5 minutes' metrics until every route has all its requests, and every exemplar's trace is stored.</summary>
        private static async Task<JsonElement> WaitForCountsAsync(ViewerProcess viewer)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                JsonElement metrics = await viewer.GetJsonAsync("/viewer-api/metrics?window=5m");
                JsonElement[] routes = [.. metrics.GetProperty("services").EnumerateArray()
                    .Where(s => s.GetProperty("service").GetString() == Service)
                    .SelectMany(s => s.GetProperty("routes").EnumerateArray())];
                bool counted = Sent.All(sent => routes.Any(r => r.GetProperty("route").GetString() == sent.Route && r.GetProperty("requests").GetInt32() == sent.Requests));
                bool stored = routes.All(r => r.GetProperty("exemplars").EnumerateArray().All(e => e.GetProperty("stored").GetBoolean()));
                if (counted && stored)
                {
                    return metrics;
                }

                if (watch.Elapsed > Timeout)
                {
                    throw new TimeoutException(viewer.Process.Describe($"the viewer's metrics never counted every request; last: {metrics}"));
                }

                await Task.Delay(100);
            }
        }
    }
}
