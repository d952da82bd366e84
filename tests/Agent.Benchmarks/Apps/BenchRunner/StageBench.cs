using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace TraceAgent.Bench;

internal sealed record StageResult(string Type, string Method, string Description, double MedianNs, double? AllocatedBytes);

/// <summary>The BenchmarkDotNet project (tests/Agent.Benchmarks): one benchmark per stage of the agent's span path.</summary>
internal static class StageBench
{
    public static List<StageResult> Run(BenchOptions options)
    {
        var dll = Path.Combine(options.Artifacts, "stages", "TraceAgent.Benchmarks.dll");
        var artifacts = options.StagesDirectory ?? Path.Combine(Path.GetTempPath(), "traceagent-bdn");
        if (Directory.Exists(artifacts))
        {
            Directory.Delete(artifacts, recursive: true);
        }

        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { dll, "--filter", "*", "--artifacts", artifacts })
        {
            info.ArgumentList.Add(argument);
        }

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

        Console.Error.WriteLine($"stages: dotnet {string.Join(' ', info.ArgumentList)}");
        using var process = Process.Start(info) ?? throw new InvalidOperationException("BenchmarkDotNet did not start");
        var log = Path.Combine(options.Artifacts, "stages.log");
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        File.WriteAllText(log, output + errors.Result);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"BenchmarkDotNet exited with {process.ExitCode}; log: {log}");
        }

        var results = new List<StageResult>();
        foreach (var file in Directory.EnumerateFiles(artifacts, "*-report-full.json", SearchOption.AllDirectories))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var benchmark in document.RootElement.GetProperty("Benchmarks").EnumerateArray())
            {
                if (!benchmark.TryGetProperty("Statistics", out var statistics) || statistics.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                double? allocated = benchmark.TryGetProperty("Memory", out var memory) && memory.ValueKind == JsonValueKind.Object
                    ? memory.GetProperty("BytesAllocatedPerOperation").GetDouble()
                    : null;
                results.Add(new StageResult(
                    benchmark.GetProperty("Type").GetString() ?? "",
                    benchmark.GetProperty("Method").GetString() ?? "",
                    benchmark.TryGetProperty("MethodTitle", out var title) ? title.GetString() ?? "" : "",
                    statistics.GetProperty("Median").GetDouble(),
                    allocated));
            }
        }

        if (results.Count == 0)
        {
            throw new InvalidOperationException($"BenchmarkDotNet wrote no results; log: {log}");
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stages: {results.Count} results"));
        return results;
    }
}
