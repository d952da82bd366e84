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

    /// <remarks>
    /// The free port is found before the app binds it, so another test's app may take it first
    /// (tests run in parallel). An answer counts only once this process listens on the port
    /// itself; an app that could not bind it is started again on another port.
    /// </remarks>
    public static async Task<WebApp> StartAsync(string appName, Dictionary<string, string?> environment, string readinessPath = ReadinessPath)
    {
        for (var start = 1; ; start++)
        {
            var port = TcpPort.FreePort();
            var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(appName), environment, ["--urls", "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture)]);
            var app = new WebApp(process, port);
            try
            {
                await app.WaitUntilReadyAsync(readinessPath);
                return app;
            }
            catch (InvalidOperationException) when (start < 3 && process.HasExited && process.Output.Any(l => l.Contains("address already in use", StringComparison.OrdinalIgnoreCase)))
            {
                app.Dispose();
            }
            catch
            {
                app.Dispose();
                throw;
            }
        }
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
                if (TcpPort.IsListeningIn(Process.Id, Port))
                {
                    return;
                }

                // Another process answered on this port: this app has not bound it (yet, or ever).
                await Task.Delay(100);
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
