using System.Net;
using System.Net.Sockets;
using TraceAgent.IntegrationTests.Infrastructure;

namespace TraceAgent.IntegrationTests.Viewer;

/// <summary>The viewer's command line as docs/viewer.md states it: its exit codes, and OTLP over gRPC from an app under the agent.</summary>
public sealed class ViewerCommandLineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_bad_option_exits_with_2_and_names_it()
    {
        using var viewer = TestProcess.StartDotnet(ViewerProcess.ViewerDll, arguments: ["--memory", "--no-such-option"]);
        Assert.Equal(2, await viewer.WaitForExitAsync(Timeout));
        Assert.Contains(viewer.StandardError, l => l.Contains("--no-such-option", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_port_already_taken_exits_with_1_and_names_it()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var viewer = TestProcess.StartDotnet(ViewerProcess.ViewerDll, arguments: ["--memory", "--http-port", port, "--grpc-port", "0", "--ui-port", "0"]);
        Assert.Equal(1, await viewer.WaitForExitAsync(Timeout));
        Assert.Contains(viewer.StandardError, l => l.Contains(port, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_app_exporting_over_grpc_reaches_the_viewer()
    {
        await using var viewer = await ViewerProcess.StartAsync("--memory");
        var line = await viewer.Process.WaitForOutputAsync("receiving OTLP on ", Timeout);
        var grpc = System.Text.RegularExpressions.Regex.Match(line, @"and (http://127\.0\.0\.1:\d+) \(grpc\)");
        Assert.True(grpc.Success, line);

        var environment = new Dictionary<string, string?>
        {
            ["DOTNET_STARTUP_HOOKS"] = RepoPaths.StartupHookPath,
            ["OTEL_SERVICE_NAME"] = "grpc-to-viewer",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = grpc.Groups[1].Value,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
            ["OTEL_METRICS_EXPORTER"] = "none",
            ["OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES"] = "TestApp.Console",
        };
        using var app = TestProcess.StartDotnet(RepoPaths.TestAppDll("TestApplication.Console"), environment);
        Assert.Equal(5, await app.WaitForExitAsync(Timeout));

        var status = await viewer.WaitForStatusAsync(s => s.GetProperty("traces").GetInt32() >= 1, Timeout);
        Assert.Equal(1, status.GetProperty("traces").GetInt32());
        Assert.DoesNotContain(app.StandardError, l => l.Contains(" warn ", StringComparison.Ordinal));
    }
}
