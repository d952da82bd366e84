using System.Globalization;

namespace TraceAgent.Bench;

internal sealed class BenchOptions
{
    public required string Repo { get; init; }

    public required string Output { get; init; }

    public bool Quick { get; init; }

    public string? MicroDirectory { get; init; }

    public string? Redis { get; init; }

    public string? Postgres { get; init; }

    public string SdkVersion { get; init; } = "";

    public string ToolVersions { get; init; } = "";

    public HashSet<string> Parts { get; init; } = new(StringComparer.Ordinal) { "startup", "load", "outage", "micro" };

    public string AgentHook => Path.Combine(Repo, "artifacts", "bench", "agent", "TraceAgent.StartupHook.dll");

    public string PlainApp => Path.Combine(Repo, "artifacts", "bench", "api-plain", "BenchApi.dll");

    public string SdkApp => Path.Combine(Repo, "artifacts", "bench", "api-sdk", "BenchApi.dll");

    public int StartupRuns => Quick ? 2 : 11;

    public int LoadRounds => Quick ? 1 : 3;

    public TimeSpan LoadDuration => TimeSpan.FromSeconds(Quick ? 2 : 15);

    public TimeSpan WarmupDuration => TimeSpan.FromSeconds(Quick ? 1 : 5);

    public TimeSpan OutagePhase => TimeSpan.FromSeconds(Quick ? 2 : 12);

    public static BenchOptions Parse(string[] args)
    {
        string? repo = null;
        string? output = null;
        string? micro = null;
        string? redis = null;
        string? postgres = null;
        string sdk = "";
        string tools = "";
        bool quick = false;
        HashSet<string>? parts = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException(args[i] + " needs a value");
            switch (args[i])
            {
                case "--repo": repo = Next(); break;
                case "--output": output = Next(); break;
                case "--quick": quick = true; break;
                case "--micro": micro = Next(); break;
                case "--redis": redis = Next(); break;
                case "--postgres": postgres = Next(); break;
                case "--sdk-version": sdk = Next(); break;
                case "--tool-versions": tools = Next(); break;
                case "--parts": parts = new HashSet<string>(Next().Split(',', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal); break;
                default: throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"unknown argument {args[i]}"));
            }
        }

        repo ??= Directory.GetCurrentDirectory();
        return new BenchOptions
        {
            Repo = repo,
            Output = output ?? Path.Combine(repo, "docs", "performance.md"),
            Quick = quick,
            MicroDirectory = micro,
            Redis = redis,
            Postgres = postgres,
            SdkVersion = sdk,
            ToolVersions = tools,
            Parts = parts ?? new(StringComparer.Ordinal) { "startup", "load", "outage", "micro" },
        };
    }
}
