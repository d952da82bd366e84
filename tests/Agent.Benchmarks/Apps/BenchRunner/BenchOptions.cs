using System.Globalization;

namespace TraceAgent.Bench;

/// <summary>The runner's command line (build/bench.sh and build/profile.sh pass it).</summary>
internal sealed class BenchOptions
{
    public static readonly string[] AllParts = ["startup", "job", "load", "paired", "ops", "stages", "outage"];

    public required string Repo { get; init; }

    public required string Output { get; init; }

    public bool Quick { get; init; }

    public HashSet<string> Parts { get; init; } = new(AllParts, StringComparer.Ordinal);

    /// <summary>Load configurations to run (keys of <see cref="Configurations"/>); null: the default set.</summary>
    public IReadOnlyList<string>? LoadConfigurations { get; init; }

    /// <summary>The paired part's comparisons to run (by key; all of them when null).</summary>
    public IReadOnlyList<string>? Comparisons { get; init; }

    public bool WithNet8 { get; init; } = true;

    public string? Redis { get; init; }

    public string? Postgres { get; init; }

    public int? RedisPid { get; init; }

    public int? PostgresPid { get; init; }

    public string? StagesDirectory { get; init; }

    public string SdkVersion { get; init; } = "";

    public string ToolVersions { get; init; } = "";

    public string AgentCommit { get; init; } = "";

    /// <summary>build/profile.sh: profile this configuration instead of running the suite.</summary>
    public string? ProfileConfiguration { get; init; }

    public string? ProfileDirectory { get; init; }

    public int? RoundsOverride { get; init; }

    public int? StartupRunsOverride { get; init; }

    public int? Net8RoundsOverride { get; init; }

    public int? OpsPerRunOverride { get; init; }

    /// <summary>The per-operation workloads to run (--ops); null runs them all.</summary>
    public IReadOnlyList<string>? OpsWorkloads { get; init; }

    /// <summary>
    /// --ops-base-agent DIR: another build of the agent (a copy of dist/agent) in each per-operation
    /// base process, set up as the test process: the rows then show this build against that one.
    /// </summary>
    public string? OpsBaseAgent { get; init; }

    /// <summary>
    /// --base-agent DIR: another build of the agent (a copy of dist/agent) for the configuration
    /// agent-base, which the paired comparison <c>change</c> measures this build against.
    /// </summary>
    public string? BaseAgent { get; init; }

    public string BaseAgentHook => Path.Combine(BaseAgent ?? throw new ArgumentException("the configuration agent-base needs --base-agent DIR"), "TraceAgent.StartupHook.dll");

    public string Artifacts => Path.Combine(Repo, "artifacts", "bench");

    public string AgentHook => Path.Combine(Artifacts, "agent", "TraceAgent.StartupHook.dll");

    public string SdkHook => Path.Combine(Artifacts, "sdk-hook", "OtelSdkHook.dll");

    // Load: the issue's phases. Quick mode keeps their order and shortens them to seconds.
    public int LoadRounds => RoundsOverride ?? (Quick ? 1 : 5);

    /// <summary>
    /// The .NET 8 load configurations run in the first rounds only (3 by default): the full run
    /// then stays within about 30 minutes. Their ratios are still paired round by round.
    /// </summary>
    public int Net8Rounds => Math.Min(LoadRounds, Net8RoundsOverride ?? (Quick ? 1 : 3));

    public TimeSpan Warmup => TimeSpan.FromSeconds(Quick ? 1 : 2);

    public TimeSpan Window => TimeSpan.FromSeconds(Quick ? 2 : 8);

    /// <summary>Load between the two windows, so that the steady window starts after 20 s of load.</summary>
    public TimeSpan Between => TimeSpan.FromSeconds(Quick ? 1 : 10);

    public int StartupRuns => StartupRunsOverride ?? (Quick ? 2 : 11);

    public int OpsRounds => RoundsOverride ?? (Quick ? 1 : 5);

    public int OpsPerRun => OpsPerRunOverride ?? (Quick ? 4_000 : 60_000);

    /// <summary>Five seconds at the pace of <see cref="OpsBench.Rate"/>: the tiered JIT needs that long to settle the export path.</summary>
    public int OpsWarmup => Quick ? 2_000 : 200_000;

    public TimeSpan OutagePhase => TimeSpan.FromSeconds(Quick ? 2 : 6);

    public static BenchOptions Parse(string[] args)
    {
        string? repo = null;
        string? output = null;
        string? stages = null;
        string? redis = null;
        string? postgres = null;
        int? redisPid = null;
        int? postgresPid = null;
        string sdk = "";
        string tools = "";
        string commit = "";
        bool quick = false;
        bool net8 = true;
        HashSet<string>? parts = null;
        List<string>? configs = null;
        List<string>? comparisons = null;
        string? profile = null;
        string? profileDirectory = null;
        int? rounds = null;
        int? runs = null;
        int? net8Rounds = null;
        int? opsPerRun = null;
        List<string>? ops = null;
        string? opsBaseAgent = null;
        string? baseAgent = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException(args[i] + " needs a value");
            int NextInt() => int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--repo": repo = Next(); break;
                case "--output": output = Next(); break;
                case "--quick": quick = true; break;
                case "--stages-dir": stages = Next(); break;
                case "--redis": redis = Next(); break;
                case "--postgres": postgres = Next(); break;
                case "--redis-pid": redisPid = NextInt(); break;
                case "--postgres-pid": postgresPid = NextInt(); break;
                case "--sdk-version": sdk = Next(); break;
                case "--tool-versions": tools = Next(); break;
                case "--agent-commit": commit = Next(); break;
                case "--no-net8": net8 = false; break;
                case "--rounds": rounds = NextInt(); break;
                case "--startup-runs": runs = NextInt(); break;
                case "--net8-rounds": net8Rounds = NextInt(); break;
                case "--ops-per-run": opsPerRun = NextInt(); break;
                case "--ops": ops = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                case "--ops-base-agent": opsBaseAgent = Path.GetFullPath(Next()); break;
                case "--base-agent": baseAgent = Path.GetFullPath(Next()); break;
                case "--profile": profile = Next(); break;
                case "--profile-dir": profileDirectory = Next(); break;
                case "--parts": parts = ParseParts(Next()); break;
                case "--configs": configs = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                case "--comparisons": comparisons = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                default: throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"unknown argument {args[i]}"));
            }
        }

        repo ??= Directory.GetCurrentDirectory();
        return new BenchOptions
        {
            Repo = repo,
            Output = output ?? Path.Combine(repo, "docs", "performance.md"),
            Quick = quick,
            StagesDirectory = stages,
            Redis = redis,
            Postgres = postgres,
            RedisPid = redisPid,
            PostgresPid = postgresPid,
            SdkVersion = sdk,
            ToolVersions = tools,
            AgentCommit = commit,
            WithNet8 = net8,
            Parts = parts ?? new(AllParts, StringComparer.Ordinal),
            LoadConfigurations = configs,
            Comparisons = comparisons,
            ProfileConfiguration = profile,
            ProfileDirectory = profileDirectory,
            RoundsOverride = rounds,
            StartupRunsOverride = runs,
            Net8RoundsOverride = net8Rounds,
            OpsPerRunOverride = opsPerRun,
            OpsBaseAgent = opsBaseAgent,
            BaseAgent = baseAgent,
            OpsWorkloads = ops,
        };
    }

    private static HashSet<string> ParseParts(string value)
    {
        var parts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // "micro" was the old name of the per-operation part (then BenchmarkDotNet only).
            if (part == "micro")
            {
                parts.Add("ops");
                parts.Add("stages");
            }
            else if (Array.IndexOf(AllParts, part) >= 0)
            {
                parts.Add(part);
            }
            else
            {
                throw new ArgumentException($"unknown part {part} (parts: {string.Join(",", AllParts)})");
            }
        }

        return parts;
    }
}
