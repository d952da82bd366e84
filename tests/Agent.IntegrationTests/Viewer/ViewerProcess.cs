using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using TraceAgent.IntegrationTests.Infrastructure;

namespace TraceAgent.IntegrationTests.Viewer;

/// <summary>
/// The published viewer (artifacts/viewer, built by build/build.sh) as a process of its own, on
/// free ports, with its web UI and OTLP addresses read from what it prints at start.
/// </summary>
public sealed class ViewerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private ViewerProcess(TestProcess process, string ui, string otlpHttp)
    {
        Process = process;
        Ui = ui;
        OtlpHttp = otlpHttp;
        Http = new HttpClient { BaseAddress = new Uri(ui), Timeout = TimeSpan.FromSeconds(30) };
    }

    public static string ViewerDll => Path.Combine(RepoPaths.RepoRoot, "artifacts", "viewer", "traceagent-viewer.dll");

    public TestProcess Process { get; }

    /// <summary>The web UI's base address, http://127.0.0.1:PORT.</summary>
    public string Ui { get; }

    public string OtlpHttp { get; }

    public HttpClient Http { get; }

    public static async Task<ViewerProcess> StartAsync(params string[] arguments)
    {
        Assert.True(File.Exists(ViewerDll), $"{ViewerDll} is missing: run bash build/build.sh --test-apps first");
        TestProcess process = TestProcess.StartDotnet(
            ViewerDll,
            new Dictionary<string, string?> { ["NO_COLOR"] = "1" },
            ["--http-port", "0", "--grpc-port", "0", "--ui-port", "0", "--quiet-ms", "300", .. arguments]);
        try
        {
            string ui = After(await process.WaitForOutputAsync("web UI and Jaeger query API on ", StartTimeout), "web UI and Jaeger query API on ");
            string otlp = After(await process.WaitForOutputAsync("receiving OTLP on ", StartTimeout), "receiving OTLP on ").Split(' ')[0];
            return new ViewerProcess(process, ui, otlp);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using HttpResponseMessage response = await Http.GetAsync(path);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}\n{body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Polls the viewer's status until <paramref name="until"/> holds for it (traces are stored once quiet).</summary>
    public async Task<JsonElement> WaitForStatusAsync(Func<JsonElement, bool> until, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            JsonElement status = await Http.GetFromJsonAsync<JsonElement>("/viewer-api/status");
            if (until(status))
            {
                return status;
            }

            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException(Process.Describe($"viewer status never met the condition; last: {status}"));
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Stops it as Ctrl+C would; returns its exit code.</summary>
    public async Task<int> StopAsync()
    {
        if (!Process.HasExited)
        {
            using var kill = System.Diagnostics.Process.Start("kill", ["-TERM", Process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        return await Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (TimeoutException)
        {
            // Killed by WaitForExitAsync; the output is in the test's messages where it matters.
        }

        Http.Dispose();
        Process.Dispose();
    }

    private static string After(string line, string marker) => line[(line.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..].Trim();
}
