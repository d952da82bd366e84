using System.Buffers.Binary;
using System.Reflection.PortableExecutable;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Reliability;

/// <summary>
/// A damaged installation (a file missing, or cut short by a failed copy) must never take the app
/// down: the app runs untraced, or without the one instrumentation, and a line says why. Nor must
/// a folder that mixes two builds (a partial upgrade), which the runtime would stop at load.
/// </summary>
public sealed class AgentFolderFaultTests
{
    private const string ConsoleApp = "TestApplication.Console";
    private const string WebAppName = "TestApplication.Web";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public enum Damage
    {
        Missing,
        Truncated,

        /// <summary>Compiled against another build of the core: its ReadyToRun code records another core MVID.</summary>
        OtherBuild,
    }

    [Theory]
    [InlineData(Damage.Missing, "the agent's core assembly is missing")]
    [InlineData(Damage.Truncated, "BadImageFormatException")]
    public async Task Damaged_core_assembly_leaves_the_app_running_untraced_with_one_line(Damage damage, string expected)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var folder = AgentCopy.Create();
        folder.Damage("TraceAgent.dll", damage);
        var environment = AgentEnvironment.For(receiver, "damaged-core").With(
            ("DOTNET_STARTUP_HOOKS", folder.StartupHookPath),
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"));

        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleApp), environment);
        await process.WaitForExitAsync(Timeout);

        Assert.Equal(5, process.ExitCode);
        Assert.Equal(["console app done"], process.StandardOutput);
        var line = Assert.Single(process.StandardError);
        Assert.Contains("the app runs untraced", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Equal(0, receiver.RequestCount);
    }

    [Fact]
    public async Task With_fail_fast_on_a_start_up_failure_stops_the_app_instead()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var folder = AgentCopy.Create();
        folder.Damage("TraceAgent.dll", Damage.Missing);
        var environment = AgentEnvironment.For(receiver, "fail-fast").With(
            ("DOTNET_STARTUP_HOOKS", folder.StartupHookPath),
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
            ("OTEL_DOTNET_AUTO_FAIL_FAST_ENABLED", "true"));

        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleApp), environment);
        await process.WaitForExitAsync(Timeout);

        // The hook's exception ends the process before Main: the app's own exit code (5) and output never come.
        Assert.NotEqual(5, process.ExitCode);
        Assert.NotEqual(0, process.ExitCode);
        Assert.Empty(process.StandardOutput);
        Assert.Contains(process.StandardError, l => l.Contains("the agent's core assembly is missing", StringComparison.Ordinal) && l.Contains("[traceagent]", StringComparison.Ordinal));
        Assert.Contains(process.StandardError, l => l.Contains("FileNotFoundException", StringComparison.Ordinal) && !l.Contains("[traceagent]", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(Damage.Missing, "could not start")]
    [InlineData(Damage.Truncated, "could not start")]
    [InlineData(Damage.OtherBuild, "TraceAgent.Instrumentation.AspNetCore.dll is from another build of the agent")]
    public async Task Damaged_instrumentation_assembly_switches_only_that_instrumentation_off(Damage damage, string reason)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var folder = AgentCopy.Create();
        folder.Damage("TraceAgent.Instrumentation.AspNetCore.dll", damage);
        var environment = AgentEnvironment.For(receiver, "damaged-aspnetcore").With(("DOTNET_STARTUP_HOOKS", folder.StartupHookPath));

        // The app is its own backend: /front calls BACKEND_URL through HttpClient.
        var port = TcpPort.FreePort();
        environment["BACKEND_URL"] = "http://127.0.0.1:" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(WebAppName), environment, ["--urls", environment["BACKEND_URL"]!]);
        using var client = new HttpClient();
        var body = await GetWhenReadyAsync(client, environment["BACKEND_URL"] + "/front?path=/items/5", process);
        Assert.Equal("{\"id\":5}", body);

        // HttpClient is still traced; ASP.NET Core is not, and one line says so.
        var spans = await receiver.WaitForSpansAsync(s => s.Any(x => x.Kind == SpanKinds.Client), Timeout);
        Assert.DoesNotContain(spans, s => s.Kind == SpanKinds.Server);
        Assert.Single(process.StandardError, l => l.Contains("instrumentation ASPNETCORE is off", StringComparison.Ordinal)
            && l.Contains(reason, StringComparison.Ordinal) && l.Contains("the app runs on", StringComparison.Ordinal));
    }

    private static async Task<string> GetWhenReadyAsync(HttpClient client, string url, TestProcess process)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException(process.Describe("the web app exited"));
            }

            try
            {
                return await client.GetStringAsync(url);
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException(process.Describe("the web app never answered"));
    }

    /// <summary>A private copy of dist/agent that a test may damage.</summary>
    private sealed class AgentCopy : IDisposable
    {
        private readonly DirectoryInfo _directory;

        private AgentCopy(DirectoryInfo directory)
        {
            _directory = directory;
        }

        public string StartupHookPath => Path.Combine(_directory.FullName, "TraceAgent.StartupHook.dll");

        public static AgentCopy Create()
        {
            var directory = Directory.CreateTempSubdirectory("traceagent-damaged-");
            foreach (var file in Directory.GetFiles(RepoPaths.AgentDirectory, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(directory.FullName, Path.GetRelativePath(RepoPaths.AgentDirectory, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            return new AgentCopy(directory);
        }

        /// <summary>Damages the file in the hook's folder or, for the agent's own assemblies, in every runtime's build.</summary>
        public void Damage(string fileName, Damage damage)
        {
            var paths = Directory.GetFiles(_directory.FullName, fileName, SearchOption.AllDirectories);
            Assert.True(paths.Length > 0, fileName + " is not in the agent folder");
            foreach (var path in paths)
            {
                if (damage == AgentFolderFaultTests.Damage.Missing)
                {
                    File.Delete(path);
                    continue;
                }

                if (damage == AgentFolderFaultTests.Damage.OtherBuild)
                {
                    ChangeRecordedCoreMvid(path);
                    continue;
                }

                // What an interrupted copy leaves: the start of the file and nothing more.
                var head = File.ReadAllBytes(path).AsSpan(0, 512).ToArray();
                File.WriteAllBytes(path, head);
            }
        }

        public void Dispose() => _directory.Delete(recursive: true);

        /// <summary>
        /// What an instrumentation built against another core carries: another MVID in its
        /// ReadyToRun header's ManifestAssemblyMvids section (type 118), found here through the
        /// CLI header's ManagedNativeHeader directory.
        /// </summary>
        private static void ChangeRecordedCoreMvid(string path)
        {
            var bytes = File.ReadAllBytes(path);
            using var reader = new PEReader(new MemoryStream(bytes));
            var headers = reader.PEHeaders;
            int FileOffset(int rva)
            {
                var section = headers.SectionHeaders.Single(s => rva >= s.VirtualAddress && rva < s.VirtualAddress + Math.Max(s.VirtualSize, s.SizeOfRawData));
                return rva - section.VirtualAddress + section.PointerToRawData;
            }

            var native = headers.CorHeader!.ManagedNativeHeaderDirectory;
            Assert.True(native.Size > 0, path + " has no ReadyToRun header: build/build.sh publishes the agent ReadyToRun on x64 and arm64");
            var header = FileOffset(native.RelativeVirtualAddress);
            Assert.Equal(0x00525452u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(header)));
            var count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(header + 12));
            var changed = 0;
            for (var i = 0; i < count; i++)
            {
                var entry = header + 16 + (12 * i);
                if (BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(entry)) == 118 && BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(entry + 8)) >= 16)
                {
                    bytes[FileOffset(BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(entry + 4)))] ^= 0xFF;
                    changed++;
                }
            }

            Assert.Equal(1, changed);
            File.WriteAllBytes(path, bytes);
        }
    }
}
