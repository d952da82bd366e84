using TraceAgent.Loading;

namespace TraceAgent.Tests.Loading;

/// <summary>
/// The loader reads an instrumentation's ReadyToRun manifest before loading it; whatever the file,
/// the read must end in a list (empty when there is nothing to compare) and never in an exception
/// that would keep a sound instrumentation off. The list read from the agent's own files is
/// checked end to end by AgentFolderFaultTests (a folder mixing two builds) and by every test that
/// starts the agent (a sound folder loads every instrumentation).
/// </summary>
public sealed class ReadyToRunManifestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("traceagent-r2r-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static int NativeHeaderSize(string path)
    {
        using var reader = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(path));
        return reader.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size;
    }

    [Fact]
    public void An_assembly_without_ReadyToRun_code_has_no_dependencies()
    {
        // The test build of the core is IL only (the agent's folder is published ReadyToRun).
        var core = typeof(ReadyToRunManifest).Assembly.Location;
        Assert.Equal(0, NativeHeaderSize(core));
        Assert.Empty(ReadyToRunManifest.DependencyMvids(core));
    }

    [Fact]
    public void A_framework_assembly_has_ReadyToRun_code_but_no_version_bubble_dependencies()
    {
        var framework = typeof(HttpClient).Assembly.Location;
        Assert.True(NativeHeaderSize(framework) > 0);
        Assert.Empty(ReadyToRunManifest.DependencyMvids(framework));
    }

    [Fact]
    public void Files_cut_short_or_not_assemblies_read_as_empty()
    {
        var framework = File.ReadAllBytes(typeof(HttpClient).Assembly.Location);
        foreach (var length in new[] { 0, 2, 0x3C, 0x40, 0x84, 0x98, 0x200, 0x1000, 0x10000 })
        {
            var path = Path.Combine(_directory, "cut.dll");
            File.WriteAllBytes(path, framework.AsSpan(0, length).ToArray());
            Assert.Empty(ReadyToRunManifest.DependencyMvids(path));
        }

        var text = Path.Combine(_directory, "text.dll");
        File.WriteAllText(text, "MZ but not a portable executable, long enough to pass the first checks of the reader");
        Assert.Empty(ReadyToRunManifest.DependencyMvids(text));
    }
}
