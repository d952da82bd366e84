using System.Globalization;
using TraceAgent.IntegrationTests.Infrastructure;

namespace TraceAgent.IntegrationTests.Reliability;

/// <summary>
/// The load-bearing tests run one at a time: their latency figures compare two bursts on the same
/// two cores, which a neighbour's burst would distort.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilityCollection
{
    public const string Name = "Reliability";
}

/// <summary>
/// The measured figures, also appended to artifacts/test-results/reliability-figures.txt so they
/// can be read after a run (docs/reliability.md quotes them).
/// </summary>
public static class Figures
{
    private static readonly Lock Gate = new();

    public static void Append(string text)
    {
        try
        {
            var directory = Path.Combine(RepoPaths.RepoRoot, "artifacts", "test-results");
            Directory.CreateDirectory(directory);
            lock (Gate)
            {
                File.AppendAllText(
                    Path.Combine(directory, "reliability-figures.txt"),
                    DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) + " " + text + "\n");
            }
        }
        catch (IOException)
        {
            // The figures are a convenience; the test output has them too.
        }
    }
}
