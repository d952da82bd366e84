using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using TraceAgent.IntegrationTests.Demo;
using TraceAgent.IntegrationTests.Infrastructure;

namespace TraceAgent.IntegrationTests.Viewer;

/// <summary>
/// The viewer started again on the database build/demo.sh left (a copy of it), so the demo's
/// traces are read back from the file, and a headless Chromium driven through chromedriver.
/// Started on first use by the tests of the demo collection, stopped after the last.
/// </summary>
public sealed class DemoViewer : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _directory;

    public ViewerProcess? Viewer { get; private set; }

    public ChromeDriver? Browser { get; private set; }

    /// <summary>The trace ids of the demo's traces, from artifacts/demo/traces.json (not from the viewer under test).</summary>
    public DemoTraces Traces { get; private set; } = DemoTraces.Empty;

    public static string ScreenshotDirectory => Path.Combine(RepoPaths.RepoRoot, "artifacts", "viewer-screenshots");

    public static string DocsImages => Path.Combine(RepoPaths.RepoRoot, "docs", "images");

    public async Task<ViewerProcess> StartViewerAsync(DemoRun demo)
    {
        await _gate.WaitAsync();
        try
        {
            if (Viewer is null)
            {
                Assert.True(demo.ExitCode == 0 && demo.Traces is not null, demo.Output);
                Traces = DemoTraces.From(demo.Traces!);
                string source = Path.Combine(RepoPaths.RepoRoot, "artifacts", "demo", "traces.db");
                Assert.True(File.Exists(source), $"build/demo.sh left no {source}\n{demo.Output}");
                _directory = Directory.CreateTempSubdirectory("traceagent-demo-viewer-").FullName;
                string copy = Path.Combine(_directory, "traces.db");
                File.Copy(source, copy);
                Viewer = await ViewerProcess.StartAsync("--db", copy);
            }

            return Viewer;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<(ViewerProcess Viewer, ChromeDriver Browser)> StartBrowserAsync(DemoRun demo)
    {
        ViewerProcess viewer = await StartViewerAsync(demo);
        await _gate.WaitAsync();
        try
        {
            Browser ??= StartChromium();
            return (viewer, Browser);
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        Browser?.Quit();
        Browser?.Dispose();
        if (Viewer is not null)
        {
            await Viewer.DisposeAsync();
        }

        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>Headless Chromium through chromedriver, as every browser test of the viewer drives it.</summary>
    internal static ChromeDriver StartChromium()
    {
        const string Chromium = "/usr/bin/chromium";
        const string Driver = "/usr/bin/chromedriver";
        Assert.True(File.Exists(Chromium) && File.Exists(Driver), "chromium and chromium-driver are needed (bash build/install-prerequisites.sh installs them)");
        var options = new ChromeOptions { BinaryLocation = Chromium };

        // The machine has no network: without these Chromium stalls on its own background requests.
        options.AddArguments(
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1440,1100",
            "--force-device-scale-factor=1",
            $"--user-data-dir={Directory.CreateTempSubdirectory("traceagent-chromium-").FullName}");
        ChromeDriverService service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(Driver)!, Path.GetFileName(Driver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(30);
        return driver;
    }
}

/// <summary>Which demo trace is which, read from the JSON report the demo wrote.</summary>
public sealed record DemoTraces(string Normal, string Slow, string Failing, string Catalog, IReadOnlyDictionary<string, JsonElement> ById)
{
    public static DemoTraces Empty { get; } = new("", "", "", "", new Dictionary<string, JsonElement>());

    public static DemoTraces From(JsonDocument report)
    {
        JsonElement[] traces = [.. report.RootElement.GetProperty("traces").EnumerateArray().Select(t => t.Clone())];
        string Find(Func<JsonElement, bool> match, string what)
        {
            JsonElement[] found = [.. traces.Where(match)];
            Assert.True(found.Length == 1, $"{found.Length} demo traces are {what}");
            return found[0].GetProperty("traceId").GetString()!;
        }

        bool HasRoute(JsonElement trace, string route) => trace.GetProperty("spans").EnumerateArray().Any(s =>
            s.GetProperty("attributes").TryGetProperty("http.route", out JsonElement r) && r.GetString() == route);

        return new DemoTraces(
            Find(t => HasRoute(t, "/payments/card"), "the normal order"),
            Find(t => HasRoute(t, "/payments/bank-transfer"), "the slow order"),
            Find(t => t.GetProperty("name").GetString() == "frontend POST /checkout" && Spans(t).Any(s => s.GetProperty("statusCode").GetInt32() == 2), "the failing order"),
            Find(t => t.GetProperty("name").GetString() == "frontend GET /catalog", "the catalog"),
            traces.ToDictionary(t => t.GetProperty("traceId").GetString()!));
    }

    public static IEnumerable<JsonElement> Spans(JsonElement trace) => trace.GetProperty("spans").EnumerateArray();
}
