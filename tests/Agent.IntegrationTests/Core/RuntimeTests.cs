using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Core;

/// <summary>
/// One agent folder on every runtime the tests can publish an app for: .NET 8, 9 and 10 are traced;
/// .NET Core 3.1, older than the agent supports but able to run startup hooks, runs untraced and
/// unchanged, with one line from the hook.
/// </summary>
public sealed class RuntimeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task A_console_app_is_traced_on_every_supported_runtime(string runtime)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var jitLog = new TempFile();
        var environment = AgentEnvironment.For(receiver, "console-" + runtime).With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("DOTNET_JitDisasmSummary", "1"),
            ("DOTNET_JitStdOutFile", jitLog.Path));
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(TestRuntimes.App("TestApplication.Console", runtime)), environment);

        Assert.Equal(5, await process.WaitForExitAsync(Timeout));
        Assert.Equal(["console app done"], process.StandardOutput);

        // The hook loaded the build made for this runtime, and its start-up code ran precompiled: a
        // runtime uses no ReadyToRun code compiled for another one, and would JIT about two hundred
        // of the agent's methods at start instead.
        var build = TestRuntimes.Default == runtime ? "net10.0" : runtime + ".0";
        Assert.Contains(process.StandardError, l => l.Contains("(" + build + " build) tracing service 'console-" + runtime + "'", StringComparison.Ordinal));
        var jitLines = File.ReadAllLines(jitLog.Path);
        var jitted = jitLines.Where(l => l.Contains(" TraceAgent.", StringComparison.Ordinal) && l.Contains("Tier0", StringComparison.Ordinal)).ToList();
        Assert.True(jitted.Count <= 5, string.Join("\n", jitted));

        // The hook itself (IL for .NET Core 3.0, with ReadyToRun code compiled against .NET 10) ran
        // precompiled on .NET 10; the older runtimes JIT-compile its few methods.
        var hookJitted = jitLines.Count(l => l.Contains("compiled StartupHook", StringComparison.Ordinal));
        if (runtime == TestRuntimes.Default)
        {
            Assert.Equal(0, hookJitted);
        }
        else
        {
            Assert.InRange(hookJitted, 1, 20);
        }

        // The agent flushes at exit: the spans are in by now.
        var root = Assert.Single(receiver.Spans, s => s.Name == "console-root");
        var child = Assert.Single(receiver.Spans, s => s.Name == "console-child");
        Assert.Equal(root.SpanId, child.ParentSpanId);
        Assert.StartsWith(TestRuntimes.Major(runtime) + ".", root.ResourceAttributes["process.runtime.version"] as string, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestRuntimes.All), MemberType = typeof(TestRuntimes))]
    public async Task A_web_app_serving_requests_runs_the_instrumentations_precompiled_on_every_supported_runtime(string runtime)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var jitLog = new TempFile();
        var environment = AgentEnvironment.For(receiver, "web-" + runtime).With(
            ("DOTNET_JitDisasmSummary", "1"),
            ("DOTNET_JitStdOutFile", jitLog.Path));
        using var app = await WebApp.StartAsync(TestRuntimes.App("TestApplication.Web", runtime), environment);
        using var client = new HttpClient();
        for (var i = 0; i < 50; i++)
        {
            // Every other request continues a trace from upstream: the extraction path runs too.
            using var request = new HttpRequestMessage(HttpMethod.Get, app.BaseUrl + "/items/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (i % 2 == 0)
            {
                request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }

        await receiver.WaitForSpansAsync(all => all.Count(s => s.Name == "GET /items/{id:int}") >= 50, Timeout);

        // Export compression is off by default, and its code is apart from the exporter's: the
        // exports so far loaded no System.IO.Compression into the app (about 0.3 MB resident).
        var maps = await File.ReadAllTextAsync("/proc/" + app.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/maps");
        Assert.Contains("System.Private.CoreLib.dll", maps, StringComparison.Ordinal);
        Assert.DoesNotContain("System.IO.Compression.dll", maps, StringComparison.Ordinal);

        using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", app.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        await app.Process.WaitForExitAsync(Timeout);

        // The server-span code (the ASP.NET Core instrumentation, its assembly apart from the core's)
        // and the propagator ran from their ReadyToRun code: compiled at tier 0 they would be slow
        // until the tiered JIT caught up, and that JIT work competes with the app's first requests.
        // Generic instantiations over the agent's types count too ("ValueTuple`2[TraceAgent..."); only
        // the constructors of the Redis option providers, emitted at run time, have no such code.
        var jitted = File.ReadAllLines(jitLog.Path).Where(l => l.Contains("TraceAgent.", StringComparison.Ordinal) && l.Contains("Tier0", StringComparison.Ordinal)).ToList();
        Assert.All(jitted, l => Assert.Matches(@"TraceAgent\.Redis\.Traced\w+OptionsProvider:\.ctor\(\)", l));
    }

    [Theory]
    [InlineData("TestApplication.OldRuntime", "3.1.3")]
    [InlineData("TestApplication.OldRuntime-net6", "6.0.36")]
    [InlineData("TestApplication.OldRuntime-net7", "7.0.20")]
    public async Task An_app_on_a_runtime_older_than_8_runs_unchanged_and_untraced_with_one_line(string app, string version)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var dll = RepoPaths.TestAppDll(app);
        Assert.True(TestProcess.IsSelfContained(dll), "the old-runtime app must carry its own runtime");

        using var without = TestProcess.StartDotnet(dll, new Dictionary<string, string?>());
        var exitWithout = await without.WaitForExitAsync(Timeout);
        using var with = TestProcess.StartDotnet(dll, AgentEnvironment.For(receiver, "old-runtime"));
        var exitWith = await with.WaitForExitAsync(Timeout);

        Assert.Equal(7, exitWithout);
        Assert.Equal(exitWithout, exitWith);
        Assert.Equal(["old runtime app on " + version], with.StandardOutput);
        Assert.Equal(without.StandardOutput, with.StandardOutput);
        Assert.Empty(without.StandardError);
        var line = Assert.Single(with.StandardError);
        Assert.Contains(" warn runtime " + version + " is not supported (the agent needs .NET 8 or later); the app runs untraced", line, StringComparison.Ordinal);
        Assert.Empty(receiver.Requests);
    }

    private sealed class TempFile : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "traceagent-jit-" + Guid.NewGuid().ToString("N") + ".txt");

        public void Dispose() => File.Delete(Path);
    }
}
