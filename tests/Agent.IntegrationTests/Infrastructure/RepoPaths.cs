namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>Where the build script puts what the integration tests run (see build/build.sh).</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> Root = new(FindRoot);

    /// <summary>The folder holding Agent.sln.</summary>
    public static string RepoRoot => Root.Value;

    public static string AgentDirectory => Path.Combine(RepoRoot, "dist", "agent");

    public static string StartupHookPath => Path.Combine(AgentDirectory, "TraceAgent.StartupHook.dll");

    public static string TestApplicationsOutput => Path.Combine(RepoRoot, "artifacts", "testapps");

    public static string TestAppDirectory(string name) => Path.Combine(TestApplicationsOutput, name);

    /// <summary>
    /// The published entry assembly of a test application, e.g. <c>TestApplication.Web</c>, or of one
    /// variant of it, e.g. <c>TestApplication.Database-low</c> (published from the app's variants file).
    /// </summary>
    public static string TestAppDll(string name)
    {
        var direct = Path.Combine(TestAppDirectory(name), name + ".dll");
        var dash = name.LastIndexOf('-');
        return File.Exists(direct) || dash < 0 ? direct : Path.Combine(TestAppDirectory(name), name[..dash] + ".dll");
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Agent.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No folder containing Agent.sln above {AppContext.BaseDirectory}.");
    }
}
