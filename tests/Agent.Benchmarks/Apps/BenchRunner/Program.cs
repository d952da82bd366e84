using System.Globalization;
using TraceAgent.Bench;

// The benchmark suite's runner. build/bench.sh publishes the apps, starts Redis and PostgreSQL and
// runs this; it hosts the OTLP sink and the Kafka mock cluster, runs the parts asked for and
// writes docs/performance.md (or --output). build/profile.sh runs it with --profile.
var options = BenchOptions.Parse(args);
await using var sink = await OtlpSink.StartAsync();
bool needsKafka = options.ProfileConfiguration is null && (options.Parts.Contains("startup") || options.Parts.Contains("job") || options.Parts.Contains("ops"));
using var kafka = needsKafka ? new KafkaMockCluster() : null;
var backends = new Backends(options.Redis, options.Postgres, kafka?.Bootstrap);

if (options.ProfileConfiguration is not null)
{
    return Profiler.Run(options, sink, backends);
}

var report = new Report(options);
var clock = System.Diagnostics.Stopwatch.StartNew();
void Took(string part)
{
    report.Took(part, clock.Elapsed);
    clock.Restart();
}

if (options.Parts.Contains("startup"))
{
    kafka!.CreateTopic("bench-startup");
    var configurations = Configurations.Select(Configurations.DefaultStartup, options.WithNet8);
    report.Startup(configurations, StartupBench.Run(options, configurations, sink, backends));
    Took("startup");
}
else
{
    report.Skipped("startup");
}

if (options.Parts.Contains("job"))
{
    kafka!.CreateTopic("bench-startup");
    var configurations = Configurations.Select(JobBench.DefaultConfigurations, withNet8: false);
    report.Job(configurations, JobBench.Run(options, configurations, sink, backends));
    Took("job");
}

if (options.Parts.Contains("load"))
{
    var configurations = Configurations.Select(options.LoadConfigurations ?? Configurations.DefaultLoad, options.WithNet8);
    report.Load(configurations, LoadBench.Run(options, configurations, sink, backends));
    Took("load");
}
else
{
    report.Skipped("load");
}

if (options.Parts.Contains("paired"))
{
    report.Paired(PairedBench.Run(options, sink, backends));
    Took("paired");
}
else
{
    report.Skipped("paired");
}

if (options.Parts.Contains("ops"))
{
    report.Ops(OpsBench.Run(options, sink, backends, kafka!));
    Took("ops");
}
else
{
    report.Skipped("ops");
}

if (options.Parts.Contains("stages"))
{
    report.Stages(StageBench.Run(options));
    Took("stages");
}

if (options.Parts.Contains("outage"))
{
    report.Outage(await OutageBench.RunAsync(options, backends));
    Took("outage");
}

var text = report.Render();
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Output))!);
File.WriteAllText(options.Output, text);
Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"report written to {options.Output}"));
if (report.HasFailedChecks)
{
    Console.Error.WriteLine("some checks FAILED: see the Checks section of the report");
    return 1;
}

return 0;
