using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace TraceAgent.Bench;

internal sealed record MicroResult(string Type, string Method, string Run, double MedianNs, double? AllocatedBytes);

/// <summary>
/// Runs the BenchmarkDotNet project twice: everything without the agent, then the library
/// benchmarks (Redis, Kafka) again with the agent's startup hook in the benchmark process.
/// </summary>
internal static class MicroBench
{
    public static List<MicroResult> Run(BenchOptions options, string otlpEndpoint, IReadOnlyDictionary<string, string> backends)
    {
        var dll = Path.Combine(options.Repo, "artifacts", "bench", "micro", "TraceAgent.Benchmarks.dll");
        var root = options.MicroDirectory ?? Path.Combine(Path.GetTempPath(), "traceagent-bdn");
        var results = new List<MicroResult>();
        var plainEnv = new Dictionary<string, string>(backends);
        results.AddRange(RunOnce(dll, Path.Combine(root, "no-agent"), "no agent", ["--filter", "*"], plainEnv, options));
        var agentEnv = new Dictionary<string, string>(backends)
        {
            ["DOTNET_STARTUP_HOOKS"] = options.AgentHook,
            ["OTEL_SERVICE_NAME"] = "bench-micro",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        };
        results.AddRange(RunOnce(dll, Path.Combine(root, "agent"), "agent", ["--anyCategories", "library"], agentEnv, options));
        return results;
    }

    private static List<MicroResult> RunOnce(string dll, string artifacts, string run, string[] selection, Dictionary<string, string> environment, BenchOptions options)
    {
        if (Directory.Exists(artifacts))
        {
            Directory.Delete(artifacts, recursive: true);
        }

        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var arg in selection)
        {
            info.ArgumentList.Add(arg);
        }

        info.ArgumentList.Add("--artifacts");
        info.ArgumentList.Add(artifacts);
        if (options.Quick)
        {
            info.ArgumentList.Add("--quick");
        }

        foreach (var key in info.Environment.Keys.ToList())
        {
            if (key.StartsWith("OTEL_", StringComparison.Ordinal) || key == "DOTNET_STARTUP_HOOKS")
            {
                info.Environment.Remove(key);
            }
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        Console.Error.WriteLine($"micro benchmarks ({run}): dotnet {string.Join(' ', info.ArgumentList)}");
        using var process = Process.Start(info) ?? throw new InvalidOperationException("BenchmarkDotNet did not start");
        var log = Path.Combine(Path.GetTempPath(), $"traceagent-bdn-{run.Replace(' ', '-')}.log");
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        File.WriteAllText(log, output + errors.Result);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"BenchmarkDotNet ({run}) exited with {process.ExitCode}; log: {log}");
        }

        var results = new List<MicroResult>();
        foreach (var file in Directory.EnumerateFiles(artifacts, "*-report-full.json", SearchOption.AllDirectories))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var benchmark in document.RootElement.GetProperty("Benchmarks").EnumerateArray())
            {
                var type = benchmark.GetProperty("Type").GetString() ?? "";
                var method = benchmark.GetProperty("Method").GetString() ?? "";
                if (!benchmark.TryGetProperty("Statistics", out var statistics) || statistics.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                double median = statistics.GetProperty("Median").GetDouble();
                double? allocated = benchmark.TryGetProperty("Memory", out var memory) && memory.ValueKind == JsonValueKind.Object
                    ? memory.GetProperty("BytesAllocatedPerOperation").GetDouble()
                    : null;
                results.Add(new MicroResult(type, method, run, median, allocated));
            }
        }

        if (results.Count == 0)
        {
            throw new InvalidOperationException($"BenchmarkDotNet ({run}) wrote no results; log: {log}");
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"micro benchmarks ({run}): {results.Count} results"));
        return results;
    }
}
