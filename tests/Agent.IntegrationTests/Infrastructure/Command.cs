namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>Runs a command line to completion for fixtures that drive server tools (initdb, pg_ctl, psql).</summary>
internal static class Command
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Returns stdout; throws with the full output when the exit code is not 0.</summary>
    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        using TestProcess process = TestProcess.Start(fileName, arguments);
        int exitCode = await process.WaitForExitAsync(timeout ?? DefaultTimeout).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(process.Describe($"{Path.GetFileName(fileName)} exited with code {exitCode}."));
        }

        return string.Join('\n', process.StandardOutput);
    }

    /// <summary>The first existing file named <paramref name="name"/> on PATH, or null.</summary>
    public static string? FindOnPath(string name)
    {
        string path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (string directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
