using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using TraceAgent.IntegrationTests.Demo;

namespace TraceAgent.IntegrationTests.Viewer;

/// <summary>
/// The web UI in a real browser (headless Chromium) on the demo's traces, read back from the
/// viewer's file after a restart. Screenshots go to artifacts/viewer-screenshots/; the ones
/// docs/viewer.md shows are copied to docs/images/.
/// </summary>
[Collection(DemoCollection.Name)]
public sealed class ViewerUiTests(DemoRun demo, DemoViewer fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_search_page_lists_the_demo_traces_newest_first_with_their_findings()
    {
        (ViewerProcess viewer, ChromeDriver browser) = await fixture.StartBrowserAsync(demo);
        browser.Navigate().GoToUrl($"{viewer.Ui}/search");
        IReadOnlyList<IWebElement> results = WaitForResults(browser, r => r.Count >= 4);

        string[] ids = [.. results.Select(r => r.GetDomAttribute("data-trace-id") ?? "")];
        foreach (string id in new[] { fixture.Traces.Normal, fixture.Traces.Slow, fixture.Traces.Failing, fixture.Traces.Catalog })
        {
            Assert.Contains(id, ids);
        }

        // Newest first: the order of the traces' start times in the report.
        string[] byStart = [.. ids.OrderByDescending(id => fixture.Traces.ById[id].GetProperty("startTimeUnixNano").GetUInt64())];
        Assert.Equal(byStart, ids);

        IWebElement catalog = results.Single(r => r.GetDomAttribute("data-trace-id") == fixture.Traces.Catalog);
        Assert.Contains("N+1 queries", catalog.Text, StringComparison.Ordinal);
        IWebElement failing = results.Single(r => r.GetDomAttribute("data-trace-id") == fixture.Traces.Failing);
        Assert.Contains("Error origin", failing.Text, StringComparison.Ordinal);
        Assert.Equal(ids.Length, browser.FindElements(By.CssSelector("#chart circle")).Count);
        Screenshot(browser, "search", docs: true);

        // An order applies to every match before the limit: the longest of all, not of the newest few.
        string longest = fixture.Traces.ById.Values.MaxBy(t => t.GetProperty("durationMs").GetDouble()).GetProperty("traceId").GetString()!;
        browser.Navigate().GoToUrl($"{viewer.Ui}/search?sort=longest&limit=1");
        IReadOnlyList<IWebElement> first = WaitForResults(browser, r => r.Count == 1);
        Assert.Equal(longest, first[0].GetDomAttribute("data-trace-id"));
        Assert.Equal("longest", new SelectElement(browser.FindElement(By.Id("sort"))).SelectedOption.GetDomAttribute("value"));
    }

    [Fact]
    public async Task The_search_finds_the_slow_checkout_by_duration()
    {
        (ViewerProcess viewer, ChromeDriver browser) = await fixture.StartBrowserAsync(demo);
        browser.Navigate().GoToUrl($"{viewer.Ui}/search");
        WaitForResults(browser, r => r.Count >= 4);

        // As in Jaeger, the duration applies to a span of the chosen service: payments spent 900 ms
        // in the bank transfer. A cold first request can be slow too, so the expected set comes
        // from the report: the traces with a payments span of at least 800 ms.
        string[] slow = [.. fixture.Traces.ById.Values
            .Where(t => DemoTraces.Spans(t).Any(s => s.GetProperty("serviceName").GetString() == "payments" && s.GetProperty("durationMs").GetDouble() >= 800))
            .Select(t => t.GetProperty("traceId").GetString()!).Order()];
        Assert.Contains(fixture.Traces.Slow, slow);
        SelectByText(browser, "f-service", "payments");
        browser.FindElement(By.Id("f-min")).SendKeys("800ms");
        browser.FindElement(By.Id("f-submit")).Click();
        IReadOnlyList<IWebElement> results = WaitForResults(browser, r => r.Count == slow.Length && r.Any(e => e.GetDomAttribute("data-trace-id") == fixture.Traces.Slow));
        Assert.Equal(slow, results.Select(r => r.GetDomAttribute("data-trace-id") ?? "").Order());
        Assert.Contains("minDuration=800ms", browser.Url, StringComparison.Ordinal);
        Assert.Equal(slow.Length, browser.FindElements(By.CssSelector("#chart circle")).Count);
        Screenshot(browser, "search-slow", docs: true);

        // The viewer's addition: the duration of the whole trace, here of checkouts over 1 s (both
        // paid orders, whose Kafka half runs after the HTTP request). Expected from the report.
        string[] expected = [.. fixture.Traces.ById.Values
            .Where(t => t.GetProperty("durationMs").GetDouble() >= 1000 && DemoTraces.Spans(t).Any(s => s.GetProperty("name").GetString() == "POST /checkout"))
            .Select(t => t.GetProperty("traceId").GetString()!).Order()];
        Assert.Contains(fixture.Traces.Slow, expected);
        browser.Navigate().GoToUrl($"{viewer.Ui}/search?service=frontend&operation=POST%20%2Fcheckout&minDuration=1s&durationOf=trace");
        results = WaitForResults(browser, r => r.Count == expected.Length);
        Assert.Equal(expected, results.Select(r => r.GetDomAttribute("data-trace-id") ?? "").Order());
        Assert.Equal("trace", new SelectElement(browser.FindElement(By.Id("f-durationOf"))).SelectedOption.GetDomAttribute("value"));
    }

    [Fact]
    public async Task The_search_finds_the_failing_checkout_by_error()
    {
        (ViewerProcess viewer, ChromeDriver browser) = await fixture.StartBrowserAsync(demo);
        browser.Navigate().GoToUrl($"{viewer.Ui}/search");
        WaitForResults(browser, r => r.Count >= 4);

        SelectByText(browser, "f-service", "frontend");
        browser.FindElement(By.Id("f-errors")).Click();
        browser.FindElement(By.Id("f-submit")).Click();
        IReadOnlyList<IWebElement> results = WaitForResults(browser, r => r.Count == 1 && r[0].GetDomAttribute("data-trace-id") == fixture.Traces.Failing);
        Assert.Contains("errors=true", browser.Url, StringComparison.Ordinal);
        Assert.Contains("✗", results[0].Text, StringComparison.Ordinal);
        Screenshot(browser, "search-errors");

        // The tag form Jaeger users type, error=true, over all services: every trace with an error
        // span (the demo's start-up has one too, a failed first connection). Expected from the report.
        string[] expected = [.. fixture.Traces.ById.Values
            .Where(t => DemoTraces.Spans(t).Any(s => s.GetProperty("statusCode").GetInt32() == 2))
            .Select(t => t.GetProperty("traceId").GetString()!).Order()];
        browser.Navigate().GoToUrl($"{viewer.Ui}/search");
        WaitForResults(browser, r => r.Count >= 4);
        browser.FindElement(By.Id("f-tags")).SendKeys("error=true");
        browser.FindElement(By.Id("f-submit")).Click();
        results = WaitForResults(browser, r => r.Count == expected.Length);
        Assert.Equal(expected, results.Select(r => r.GetDomAttribute("data-trace-id") ?? "").Order());
        Assert.Contains(fixture.Traces.Failing, expected);
    }

    [Fact]
    public async Task The_trace_page_shows_every_span_with_the_error_origin_marked_and_a_click_shows_its_attributes()
    {
        (ViewerProcess viewer, ChromeDriver browser) = await fixture.StartBrowserAsync(demo);
        JsonElement report = fixture.Traces.ById[fixture.Traces.Failing];
        JsonElement finding = report.GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("rule").GetString() == "error-origin");
        string originId = finding.GetProperty("spanIds")[0].GetString()!;

        browser.Navigate().GoToUrl($"{viewer.Ui}/trace/{fixture.Traces.Failing}");
        WaitUntil(browser, b => b.FindElements(By.CssSelector(".wf-row")).Count > 0);

        string[] rows = [.. browser.FindElements(By.CssSelector(".wf-row")).Select(r => r.GetDomAttribute("data-span-id") ?? "")];
        Assert.Equal(DemoTraces.Spans(report).Select(s => s.GetProperty("spanId").GetString()).Order(), rows.Order());

        IWebElement origin = Assert.Single(browser.FindElements(By.CssSelector(".wf-row.origin-row")));
        Assert.Equal(originId, origin.GetDomAttribute("data-span-id"));
        Assert.Contains("error starts here", origin.Text, StringComparison.OrdinalIgnoreCase);
        int errorRows = browser.FindElements(By.CssSelector(".wf-row.error")).Count;
        Assert.Equal(DemoTraces.Spans(report).Count(s => s.GetProperty("statusCode").GetInt32() == 2), errorRows);
        Assert.Contains("Error origin", browser.FindElement(By.Id("findings")).Text, StringComparison.Ordinal);
        Screenshot(browser, "trace-error", docs: true);

        // A click on the span shows its attributes, its status and where it sits.
        origin.FindElement(By.CssSelector(".op")).Click();
        IWebElement detail = WaitUntil(browser, b => b.FindElements(By.CssSelector($".detail[data-detail-for='{originId}']")).FirstOrDefault());
        Assert.Contains("db.query.summary", detail.Text, StringComparison.Ordinal);
        Assert.Contains("INSERT orders", detail.Text, StringComparison.Ordinal);
        Assert.Contains("db.system.name", detail.Text, StringComparison.Ordinal);
        Assert.Contains("Error starts here", detail.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("23514", detail.Text, StringComparison.Ordinal);
        Assert.Contains("service.name", detail.Text, StringComparison.Ordinal);
        ((IJavaScriptExecutor)browser).ExecuteScript("arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -140);", browser.FindElement(By.CssSelector($".wf-row[data-span-id='{originId}']")));
        Screenshot(browser, "span-details", docs: true);

        // The finding's span buttons lead to the spans it names.
        browser.Navigate().GoToUrl($"{viewer.Ui}/trace/{fixture.Traces.Failing}");
        IWebElement button = WaitUntil(browser, b => b.FindElements(By.CssSelector($".finding[data-rule='error-origin'] [data-goto-span='{originId}']")).FirstOrDefault());
        button.Click();
        WaitUntil(browser, b => b.FindElements(By.CssSelector($".detail[data-detail-for='{originId}']")).FirstOrDefault());
    }

    [Fact]
    public async Task The_slow_trace_page_highlights_the_critical_path_through_the_slow_payment()
    {
        (ViewerProcess viewer, ChromeDriver browser) = await fixture.StartBrowserAsync(demo);
        JsonElement report = fixture.Traces.ById[fixture.Traces.Slow];
        string[] path = [.. report.GetProperty("criticalPath").EnumerateArray().Select(e => e.GetString()!)];
        string payment = DemoTraces.Spans(report).Single(s =>
            s.GetProperty("attributes").TryGetProperty("http.route", out JsonElement r) && r.GetString() == "/payments/bank-transfer").GetProperty("spanId").GetString()!;
        Assert.Contains(payment, path);

        browser.Navigate().GoToUrl($"{viewer.Ui}/trace/{fixture.Traces.Slow}");
        WaitUntil(browser, b => b.FindElements(By.CssSelector(".wf-row")).Count > 0);
        string[] onPath = [.. browser.FindElements(By.CssSelector(".wf-row.on-critical")).Select(r => r.GetDomAttribute("data-span-id") ?? "")];
        Assert.Equal(path.Order(), onPath.Order());
        Assert.NotEmpty(browser.FindElements(By.CssSelector($".wf-row[data-span-id='{payment}'] .crit")));
        Screenshot(browser, "trace-slow", docs: true);
    }

    [Fact]
    public async Task The_service_map_shows_the_services_and_their_calls_over_http_postgresql_redis_and_kafka()
    {
        (ViewerProcess viewer, ChromeDriver browser) = await fixture.StartBrowserAsync(demo);
        browser.Navigate().GoToUrl($"{viewer.Ui}/map");
        WaitUntil(browser, b => b.FindElements(By.CssSelector("#edge-table tbody tr")).Count > 0);

        string[] edges = [.. browser.FindElements(By.CssSelector("#edge-table tbody tr"))
            .Select(r => $"{r.GetDomAttribute("data-from")} -> {r.GetDomAttribute("data-to")} {r.FindElement(By.CssSelector(".pill")).Text}")];
        Assert.Contains("frontend -> orders http", edges);
        Assert.Contains("worker -> payments http", edges);
        Assert.Contains("orders -> order.created kafka", edges);
        Assert.Contains("order.created -> worker kafka", edges);
        Assert.Contains(edges, e => e.StartsWith("orders -> postgresql", StringComparison.Ordinal) && e.EndsWith(" postgresql", StringComparison.Ordinal));
        Assert.Contains("orders -> redis redis", edges);

        // The failing order's 500 shows as errors on the frontend -> orders edge.
        IWebElement frontendToOrders = browser.FindElements(By.CssSelector("#edge-table tbody tr")).Single(r => r.GetDomAttribute("data-from") == "frontend" && r.GetDomAttribute("data-to") == "orders");
        Assert.Contains("error-text", frontendToOrders.FindElements(By.CssSelector("td"))[4].GetDomAttribute("class") ?? "", StringComparison.Ordinal);
        string[] nodes = [.. browser.FindElements(By.CssSelector(".map-node")).Select(n => $"{n.GetDomAttribute("data-type")} {n.GetDomAttribute("data-node")}")];
        Assert.Equal(["cache redis", "service frontend", "service orders", "service payments", "service worker", "topic order.created"], nodes.Where(n => !n.StartsWith("database", StringComparison.Ordinal)).Order());
        Assert.Single(nodes, n => n.StartsWith("database postgresql", StringComparison.Ordinal));
        Screenshot(browser, "service-map", docs: true);
    }

    private static IReadOnlyList<IWebElement> WaitForResults(ChromeDriver browser, Func<IReadOnlyList<IWebElement>, bool> until) =>
        WaitUntil(browser, b =>
        {
            IReadOnlyList<IWebElement> results = b.FindElements(By.CssSelector("#results .result"));
            return until(results) ? results : null;
        });

    private static T WaitUntil<T>(ChromeDriver browser, Func<IWebDriver, T?> condition)
    {
        var wait = new WebDriverWait(browser, Wait) { PollingInterval = TimeSpan.FromMilliseconds(100) };
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException));
        try
        {
            return wait.Until(b => condition(b) is T value && !Equals(value, false) ? value : default)!;
        }
        catch (WebDriverTimeoutException)
        {
            string path = Screenshot(browser, "failed-" + DateTime.UtcNow.Ticks);
            throw new WebDriverTimeoutException($"the page never got there; {browser.Url}; screenshot {path}\n{browser.FindElement(By.TagName("main")).Text}");
        }
    }

    private static void SelectByText(ChromeDriver browser, string id, string text)
    {
        WaitUntil(browser, b => b.FindElements(By.CssSelector($"#{id} option")).Any(o => o.Text == text));
        new SelectElement(browser.FindElement(By.Id(id))).SelectByText(text);
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
}
