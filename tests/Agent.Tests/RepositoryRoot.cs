namespace TraceAgent.Tests;

/// <summary>The repository this test assembly was built from, for tests that read its docs and sources.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Agent.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("no Agent.sln above " + AppContext.BaseDirectory);
    }
}
