using System.Globalization;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>A test web app started as a process on 127.0.0.1 and a free port, ready when it answers.</summary>
public sealed class WebApp : IDisposable
{
    private WebApp(TestProcess process, int port)
    {
        Process = process;
        Port = port;
        BaseUrl = "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The path polled until the app answers; tests ignore its spans.</summary>
    public const string ReadinessPath = "/__ready";

    public TestProcess Process { get; }

    public int Port { get; }

    public string BaseUrl { get; }

    public static async Task<WebApp> StartAsync(string appName, Dictionary<string, string?> environment, string readinessPath = ReadinessPath)
    {
        var port = TcpPort.FreePort();
        var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(appName), environment, ["--urls", "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture)]);
        var app = new WebApp(process, port);
        try
        {
            await app.WaitUntilReadyAsync(readinessPath);
        }
        catch
        {
            app.Dispose();
            throw;
        }

        return app;
    }

    private async Task WaitUntilReadyAsync(string path)
    {
        // Readiness is polled with a bounded number of attempts; nothing is timed.
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException(Process.Describe("the web app exited before it was ready"));
            }

            try
            {
                using var response = await client.GetAsync(BaseUrl + path);
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet, or (on a loaded machine) too slow to answer the first request
                // within the client's timeout: both mean "not ready yet".
                await Task.Delay(100);
            }
        }

        throw new TimeoutException(Process.Describe("the web app never answered"));
    }

    public void Dispose()
    {
        Process.Kill();
        Process.Dispose();
    }
}
