using System.Reflection;
using System.Text.RegularExpressions;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation;
using TraceAgent.Metrics;

namespace TraceAgent.Tests.Configuration;

/// <summary>
/// docs/configuration.md promises one table of every variable: the names the agent reads and the
/// names the table lists must be the same set.
/// </summary>
public sealed partial class ConfigurationDocsTests
{
    private static readonly string[] OtlpSignals = ["TRACES", "LOGS", "METRICS"];
    private static readonly string[] OtlpSignalSettings = ["ENDPOINT", "PROTOCOL", "HEADERS", "TIMEOUT", "COMPRESSION", "CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY"];

    /// <summary>ConfigurationKeys' constants and the names its functions make for every registered id and signal.</summary>
    private static SortedSet<string> KeysTheAgentReads()
    {
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var field in typeof(ConfigurationKeys).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
        {
            keys.Add((string)field.GetRawConstantValue()!);
        }

        foreach (var signal in OtlpSignals)
        {
            foreach (var setting in OtlpSignalSettings)
            {
                keys.Add(ConfigurationKeys.OtlpSignal(signal, setting));
            }
        }

        keys.UnionWith(InstrumentationRegistry.Ids.Select(ConfigurationKeys.InstrumentationEnabled));
        keys.UnionWith(InstrumentationRegistry.LogsIds.Select(ConfigurationKeys.LogsInstrumentationSwitch));
        keys.UnionWith(MetricsInstrumentations.Ids.Select(ConfigurationKeys.MetricsInstrumentationSwitch));
        return keys;
    }

    /// <summary>
    /// The OTEL_* and TRACEAGENT_* names of the table's first column, written out: `..._TRACES_X`
    /// continues the cell's first name, {A,B} lists alternatives and {ID} stands for each id the
    /// row's "IDs:" sentence lists.
    /// </summary>
    private static SortedSet<string> KeysTheDocsList()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(RepositoryRoot.Path, "docs", "configuration.md")).Where(l => l.StartsWith("| `", StringComparison.Ordinal)))
        {
            var cells = line.Split('|');
            var ids = cells[3].Contains("IDs:", StringComparison.Ordinal)
                ? Backticked().Matches(cells[3][cells[3].IndexOf("IDs:", StringComparison.Ordinal)..]).Select(m => m.Groups[1].Value).ToList()
                : [];
            string? first = null;
            foreach (var token in Backticked().Matches(cells[1]).Select(m => m.Groups[1].Value))
            {
                var name = token;
                if (name.StartsWith("..._", StringComparison.Ordinal))
                {
                    // `..._TRACES_PROTOCOL` after `OTEL_EXPORTER_OTLP_PROTOCOL`: what follows the signal ends the first name.
                    var rest = name[4..];
                    var tail = rest[rest.IndexOf('_', StringComparison.Ordinal)..];
                    Assert.EndsWith(tail, first, StringComparison.Ordinal);
                    name = first![..^tail.Length] + "_" + rest;
                }

                first ??= name;
                foreach (var expanded in Expand(name, ids))
                {
                    if (expanded.StartsWith("OTEL_", StringComparison.Ordinal) || expanded.StartsWith("TRACEAGENT_", StringComparison.Ordinal))
                    {
                        names.Add(expanded);
                    }
                }
            }
        }

        return names;
    }

    private static IEnumerable<string> Expand(string name, IReadOnlyList<string> ids)
    {
        var open = name.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            return [name];
        }

        var close = name.IndexOf('}', open);
        var inside = name[(open + 1)..close];
        var choices = inside == "ID" ? ids : inside.Split(',');
        Assert.NotEmpty(choices);
        return choices.SelectMany(choice => Expand(name[..open] + choice + name[(close + 1)..], ids));
    }

    [Fact]
    public void Every_key_the_agent_reads_is_in_the_table()
    {
        var missing = KeysTheAgentReads().Except(KeysTheDocsList()).ToList();
        Assert.True(missing.Count == 0, "read by the agent, missing from docs/configuration.md: " + string.Join(", ", missing));
    }

    [Fact]
    public void Every_OTEL_or_TRACEAGENT_name_in_the_table_is_read_by_the_agent()
    {
        var extra = KeysTheDocsList().Except(KeysTheAgentReads()).ToList();
        Assert.True(extra.Count == 0, "in docs/configuration.md, not in ConfigurationKeys: " + string.Join(", ", extra));
    }

    [Fact]
    public void Every_name_the_agent_sources_mention_is_in_the_table()
    {
        // The startup hook reads its few variables before the core loads (no ConfigurationKeys
        // there), and log lines name variables: every such name must be a documented one.
        var documented = KeysTheDocsList();
        var undocumented = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var folder in new[] { Path.Combine("src", "Agent"), Path.Combine("src", "Instrumentations") })
        {
            foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot.Path, folder), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            {
                foreach (Match match in VariableName().Matches(File.ReadAllText(file)))
                {
                    if (!documented.Contains(match.Value))
                    {
                        undocumented.Add(match.Value + " (" + Path.GetFileName(file) + ")");
                    }
                }
            }
        }

        Assert.True(undocumented.Count == 0, "named in the agent's sources, missing from docs/configuration.md: " + string.Join(", ", undocumented));
    }

    [Fact]
    public void The_startup_hook_reads_only_names_of_ConfigurationKeys()
    {
        // The hook cannot use ConfigurationKeys (it runs before the core loads): its literals must
        // be the same names, or a rename would leave the hook reading the old one.
        var keys = typeof(ConfigurationKeys).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToHashSet();
        var hook = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "src", "Agent", "Agent.StartupHook", "StartupHook.cs"));
        var names = VariableName().Matches(hook).Select(m => m.Value).Distinct().ToList();
        Assert.Equal(["OTEL_DOTNET_AUTO_EXCLUDE_PROCESSES", "OTEL_DOTNET_AUTO_FAIL_FAST_ENABLED", "OTEL_LOG_LEVEL", "OTEL_SDK_DISABLED"], names.Order(StringComparer.Ordinal));
        Assert.All(names, name => Assert.Contains(name, keys));
    }

    [Fact]
    public void The_table_parser_reads_what_it_should()
    {
        // The expansions above, on rows whose shape is known, so a change of notation fails here
        // rather than silently emptying the comparison.
        var listed = KeysTheDocsList();
        Assert.Contains("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", listed);
        Assert.Contains("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", listed);
        Assert.Contains("OTEL_DOTNET_AUTO_TRACES_KAFKA_INSTRUMENTATION_ENABLED", listed);
        Assert.Contains("OTEL_DOTNET_AUTO_METRICS_NETRUNTIME_INSTRUMENTATION_ENABLED", listed);
        Assert.DoesNotContain(listed, name => name.Contains('{', StringComparison.Ordinal) || name.Contains('.', StringComparison.Ordinal));
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Backticked();

    // A whole variable name: not the start of a longer one, nor a pattern such as OTEL_BSP_* or
    // OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT.
    [GeneratedRegex("(?<![A-Za-z0-9_])(?:OTEL|TRACEAGENT)_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_{\\[*])")]
    private static partial Regex VariableName();
}
