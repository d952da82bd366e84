using System.Globalization;
using TraceAgent.Bench;
using TraceAgent.Otlp.Receiver;

// The whole-process parts of the benchmark suite; build/bench.sh builds everything, starts Redis
// and PostgreSQL, and runs this. Writes docs/performance.md (or --output).
var options = BenchOptions.Parse(args);
var report = new Report(options);
// The collector stands in for one on another machine: it accepts and discards, so its own work
// takes as little as possible of the cores the app under test shares with it.
var receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { DiscardData = true });

// The receiver keeps what it decodes; the benchmark only needs it to answer, so forget it often.
using var forget = new Timer(_ => receiver.Clear(), null, 1000, 1000);
using var peer = AppProcess.Start(options.PlainApp, new Dictionary<string, string> { ["BENCH_ROLE"] = "peer" });
using (var client = new HttpClient())
{
    if (!peer.WaitUntilServing(client, TimeSpan.FromSeconds(30)))
    {
        throw new InvalidOperationException("peer app did not start: " + string.Join("\n", peer.ErrorLines));
    }
}

var backends = new Dictionary<string, string> { ["BENCH_PEER_URL"] = peer.BaseUrl };
if (options.Redis is not null)
{
    backends["BENCH_REDIS"] = options.Redis;
}

if (options.Postgres is not null)
{
    backends["BENCH_POSTGRES"] = options.Postgres;
}

var startupConfigurations = new[]
{
    Configuration.None(options),
    Configuration.Agent(options, receiver.HttpEndpoint),
    Configuration.AgentWithMetrics(options, receiver.HttpEndpoint),
    Configuration.Sdk(options, receiver.HttpEndpoint),
};
var loadConfigurations = new[]
{
    Configuration.None(options),
    Configuration.Agent(options, receiver.HttpEndpoint),
    Configuration.Agent(options, receiver.HttpEndpoint, ratio: 0.1),
    Configuration.AgentSameSpans(options, receiver.HttpEndpoint),
    Configuration.AgentWithLogs(options, receiver.HttpEndpoint),
    Configuration.AgentWithMetrics(options, receiver.HttpEndpoint),
    Configuration.Sdk(options, receiver.HttpEndpoint),
};

if (options.Parts.Contains("startup"))
{
    report.Startup(startupConfigurations, StartupBench.Run(options, startupConfigurations));
}

if (options.Parts.Contains("load"))
{
    report.Load(loadConfigurations, LoadBench.Run(options, loadConfigurations, backends));
}

if (options.Parts.Contains("micro"))
{
    report.Micro(MicroBench.Run(options, receiver.HttpEndpoint, backends));
}

if (options.Parts.Contains("outage"))
{
    report.Outage(await OutageBench.RunAsync(options, backends));
}

await receiver.DisposeAsync();
var text = report.Render();
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Output))!);
File.WriteAllText(options.Output, text);
Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"report written to {options.Output}"));
