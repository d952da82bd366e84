using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// In-process: no generated builds, so the suite's stage part starts measuring at once.
bool quick = args.Contains("--quick");
var rest = args.Where(a => a != "--quick").ToArray();
var job = Job.Default.WithToolchain(InProcessEmitToolchain.Instance);
job = quick
    ? job.WithWarmupCount(1).WithIterationCount(3).WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(100)).WithId("quick")
    : job.WithWarmupCount(3).WithIterationCount(10).WithId("bench");

var config = DefaultConfig.Instance
    .AddJob(job)
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddExporter(JsonExporter.Full)
    .AddExporter(MarkdownExporter.GitHub)
    .WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
var summaries = BenchmarkSwitcher.FromAssembly(typeof(TraceAgent.Benchmarks.SpanPipelineBenchmarks).Assembly).Run(rest, config);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
