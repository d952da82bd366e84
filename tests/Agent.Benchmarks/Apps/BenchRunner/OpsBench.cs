using System.Globalization;
using System.Text.RegularExpressions;

namespace TraceAgent.Bench;

/// <summary>
/// One per-operation comparison: the same BenchOps mode in a base process and in a test process;
/// the difference in process CPU per operation is what the test set-up adds.
/// </summary>
internal sealed record OpsWorkload(
    string Key,
    string Label,
    string Mode,
    string BaseLabel,
    Tracer BaseTracer,
    IReadOnlyDictionary<string, string> BaseSettings,
    double BaseSpansPerOp,
    IReadOnlyDictionary<string, string> TestSettings,
    double TestSpansPerOp,
    string Target,
    double LimitNs,
    int SettleMs,
    Tracer TestTracer = Tracer.Agent,
    string TestLabel = "with the agent");

internal sealed record OpsRun(string Workload, bool Test, int Round, long Ops, long CpuNs, long WallNs, long Spans, long SpansExpected, IReadOnlyList<string> Warnings)
{
    public double CpuNsPerOp => CpuNs / (double)Ops;
}

/// <summary>
/// Per-operation CPU: for each workload a base and a test BenchOps process, each warmed up once,
/// then measured in rounds, one round being one window of each, both at the same moment.
/// </summary>
internal static partial class OpsBench
{
    public const int Rate = 40_000;

    // The mock cluster keeps only the newest messages of a partition: 4 partitions a topic.
    private const int MessagesPerTopic = 100_000;
    private static readonly Dictionary<string, string> Agent = [];

    public static IReadOnlyList<OpsWorkload> Workloads { get; } =
    [
        // No agent in either process: the spread of this row is the method's own (Redis, the
        // operation whose CPU varies most from window to window).
        new("same", "Redis GET in a request, no agent in either process (the method's own spread)", "redis",
            "no agent", Tracer.None, Agent, 0, Agent, 0, "", 0, 300, Tracer.None, "no agent"),
        new("redis", "Redis GET in a request (one command per request span)", "redis",
            "agent with its Redis instrumentation off", Tracer.Agent,
            new Dictionary<string, string> { ["OTEL_DOTNET_AUTO_TRACES_STACKEXCHANGEREDIS_INSTRUMENTATION_ENABLED"] = "false" }, 1,
            Agent, 2, "Redis: at most 2 µs of CPU per command", 2000, 300),
        new("redis-root", "Redis GET with no current span (each a root span)", "redis-root",
            "no agent", Tracer.None, Agent, 0, Agent, 1, "", 0, 1300),
        new("kafka-produce", "Kafka produce, one message (delivery report included)", "kafka-produce",
            "no agent", Tracer.None, Agent, 0, Agent, 1, "Kafka: at most 2 µs of CPU per message (produce)", 2000, 300),
        // What librdkafka itself costs to carry a traceparent header, with no agent: the part of the
        // produce row no instrumentation that propagates context can avoid.
        new("kafka-header", "Kafka produce, one message, with a 55-byte traceparent header the app sets itself (no agent in either process)", "kafka-produce",
            "no agent, no header", Tracer.None, Agent, 0,
            new Dictionary<string, string> { ["BENCH_KAFKA_HEADER"] = "1" }, 0, "", 0, 300, Tracer.None, "no agent, with the header"),
        new("kafka-consume", "Kafka consume, one message (with a traceparent header from a traced producer)", "kafka-consume",
            "no agent", Tracer.None, Agent, 0, Agent, 1, "Kafka: at most 2 µs of CPU per message (consume)", 2000, 300),
        new("export", "OTLP export of one span (8 attributes), after the span ends", "spans",
            "agent with OTEL_TRACES_EXPORTER=none", Tracer.Agent,
            new Dictionary<string, string> { ["OTEL_TRACES_EXPORTER"] = "none" }, 0,
            Agent, 1, "export: at most 0.5 µs of CPU per span", 500, 300),

        // The same span and the same comparison for the OpenTelemetry SDK (OtelSdkHook, the source
        // added with BENCH_SDK_SOURCES): its batch processor with an exporter that sends nothing
        // against its OTLP exporter over HTTP. The reference the export row has no other way to get.
        new("export-sdk", "OTLP export of one span (8 attributes), after the span ends: the OpenTelemetry SDK", "spans",
            "OpenTelemetry SDK 1.20, no exporter", Tracer.SdkHook,
            new Dictionary<string, string> { ["OTEL_TRACES_EXPORTER"] = "none" }, 0,
            Agent, 1, "", 0, 300, Tracer.SdkHook, "OpenTelemetry SDK 1.20, OTLP"),

        // The load part's metrics row cannot resolve 1% (its rounds spread over ±10%): this measures
        // the same code path alone. The limit is 1% of the CPU a /work request costs both services
        // without an agent in the load part (about 220 µs).
        new("metrics", "Metrics: the framework-meter measurements of one /work request (api and peer), in their spans", "metrics",
            "agent with OTEL_METRICS_EXPORTER=none", Tracer.Agent, Agent, 2,
            new Dictionary<string, string> { ["OTEL_METRICS_EXPORTER"] = "otlp" }, 2,
            "metrics: the measurements of one /work request cost at most 1% of its CPU without an agent (2.2 µs of about 220 µs)", 2200, 300),
    ];

    public static List<OpsRun> Run(BenchOptions options, OtlpSink sink, Backends backends, KafkaMockCluster kafka)
    {
        var runs = new List<OpsRun>();
        int id = 0;
        foreach (var workload in Selected(options))
        {
            // Messages for every window of both consumers (each reads the topics from the start).
            string? consumeTopics = null;
            if (workload.Mode == "kafka-consume")
            {
                int needed = options.OpsWarmup + (options.OpsRounds * options.OpsPerRun) + 1024;
                var topics = new List<string>();
                for (int filled = 0; filled < needed; filled += MessagesPerTopic)
                {
                    var topic = string.Create(CultureInfo.InvariantCulture, $"bench-consume-{++id}");
                    kafka.Fill(topic, Math.Min(MessagesPerTopic, needed - filled));
                    topics.Add(topic);
                }

                consumeTopics = string.Join(",", topics);
            }

            var processes = new List<(bool Test, string Route, AppProcess Process)>();
            try
            {
                foreach (var test in new[] { false, true })
                {
                    var route = string.Create(CultureInfo.InvariantCulture, $"ops{++id}");
                    var env = Environment(options, workload, test, sink.BaseUrl, route);
                    foreach (var (key, value) in backends.Environment())
                    {
                        env[key] = value;
                    }

                    if (workload.Mode == "kafka-produce")
                    {
                        var topic = "bench-" + route;
                        kafka.CreateTopic(topic);
                        env["BENCH_KAFKA_TOPIC"] = topic;
                    }
                    else if (consumeTopics is not null)
                    {
                        env["BENCH_KAFKA_TOPIC"] = consumeTopics;
                    }

                    string[] arguments =
                    [
                        workload.Mode,
                        options.OpsPerRun.ToString(CultureInfo.InvariantCulture),
                        options.OpsWarmup.ToString(CultureInfo.InvariantCulture),
                        Rate.ToString(CultureInfo.InvariantCulture),
                        workload.SettleMs.ToString(CultureInfo.InvariantCulture),
                    ];
                    var process = AppProcess.Start(Path.Combine(options.Artifacts, "BenchOps", "BenchOps.dll"), env, arguments, web: false, input: true);
                    processes.Add((test, route, process));

                    // Warmed up one at a time: one warms up while the other waits (they are measured together).
                    if (process.WaitForOutput("ready", 0, TimeSpan.FromMinutes(5)) is null)
                    {
                        throw new InvalidOperationException($"BenchOps {workload.Mode} ({Name(test)}) did not get ready:\n{process.Describe()}");
                    }
                }

                for (int round = 0; round < options.OpsRounds; round++)
                {
                    // Both windows run at the same moment (which process is told first alternates), so
                    // that what else the machine does in those seconds weighs on both alike: measured in
                    // turn, the difference also carried how the machine changed between two windows.
                    var order = round % 2 == 0 ? processes : Enumerable.Reverse(processes).ToList();
                    var before = new Dictionary<string, long>();
                    foreach (var (_, route, process) in order)
                    {
                        before[route] = sink.Snapshot(route).Spans;
                        process.WriteLine("measure");
                    }

                    foreach (var (test, route, process) in order)
                    {
                        var line = process.WaitForOutput("ops=", round, TimeSpan.FromMinutes(5))
                            ?? throw new InvalidOperationException($"BenchOps {workload.Mode} ({Name(test)}) printed no result:\n{process.Describe()}");

                        // What reached the sink by the time the window closed: spans exported later
                        // were not paid for inside it, so there must be none.
                        var spans = sink.Snapshot(route).Spans - before[route];
                        var match = ResultLine().Match(line);
                        long Value(string name) => long.Parse(match.Groups[name].Value, NumberStyles.Integer, CultureInfo.InvariantCulture);
                        long ops = Value("ops");
                        var run = new OpsRun(workload.Key, test, round, ops, Value("cpu"), Value("wall"), spans,
                            (long)Math.Round((test ? workload.TestSpansPerOp : workload.BaseSpansPerOp) * ops),
                            process.ErrorLines.Where(l => l.Contains(" warn ", StringComparison.Ordinal) || l.Contains(" error ", StringComparison.Ordinal)).ToList());
                        runs.Add(run);
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"ops round {round + 1}/{options.OpsRounds} {workload.Key} {Name(test)}: {run.CpuNsPerOp:0} ns cpu/op, {run.WallNs / (double)run.Ops:0} ns wall/op, spans {run.Spans}/{run.SpansExpected}{(run.Warnings.Count > 0 ? "; " + run.Warnings[^1] : "")}"));
                    }
                }

                foreach (var (test, _, process) in processes)
                {
                    process.WriteLine("done");
                    if (process.WaitForExit(TimeSpan.FromMinutes(1)) != 0)
                    {
                        throw new InvalidOperationException($"BenchOps {workload.Mode} ({Name(test)}) failed:\n{process.Describe()}");
                    }
                }
            }
            finally
            {
                foreach (var (_, _, process) in processes)
                {
                    process.Dispose();
                }
            }
        }

        return runs;
    }

    /// <summary>The workloads of this run: all of them, or those picked with --ops.</summary>
    public static IEnumerable<OpsWorkload> Selected(BenchOptions options)
    {
        var picked = Keyed.Picked(Workloads, w => w.Key, options.OpsWorkloads, "per-operation workload");
        if (options.OpsBaseAgent is null)
        {
            return picked;
        }

        // Two builds of the agent, each process set up as the test one: the rows with the agent.
        return picked.Where(w => w.TestTracer == Tracer.Agent).Select(w => w with
        {
            BaseLabel = "the agent in " + options.OpsBaseAgent,
            BaseTracer = Tracer.Agent,
            BaseSettings = w.TestSettings,
            BaseSpansPerOp = w.TestSpansPerOp,
            Target = "",
            TestLabel = "this build",
        }).ToList();
    }

    private static string Name(bool test) => test ? "test" : "base";

    private static Dictionary<string, string> Environment(BenchOptions options, OpsWorkload workload, bool test, string sinkBase, string route)
    {
        var tracer = test ? workload.TestTracer : workload.BaseTracer;
        var env = new Dictionary<string, string>();
        if (tracer != Tracer.None)
        {
            env["DOTNET_STARTUP_HOOKS"] = tracer == Tracer.SdkHook ? options.SdkHook
                : !test && options.OpsBaseAgent is not null ? Path.Combine(options.OpsBaseAgent, "TraceAgent.StartupHook.dll")
                : options.AgentHook;
            if (tracer == Tracer.SdkHook)
            {
                env["BENCH_SDK_SOURCES"] = "BenchOps";
            }

            env["OTEL_SERVICE_NAME"] = "bench-ops";
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = sinkBase + "/" + route;
            env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = sinkBase + "/" + route + "/v1/traces";
            env["OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES"] = "BenchOps";

            // Tracing alone, as in the load part's tracing rows (metrics have a row of their own there).
            env["OTEL_METRICS_EXPORTER"] = "none";

            // Spans still queued when the window closes would be exported outside it: export often. A
            // queue that never overflows, even when the export thread gets no core for a while: a
            // dropped span is work not done. (Its size changes nothing per span: a ConcurrentQueue.)
            env["OTEL_BSP_SCHEDULE_DELAY"] = "100";
            env["OTEL_BSP_MAX_QUEUE_SIZE"] = "262144";
        }

        // The workload's own settings last: they override the defaults above.
        foreach (var (key, value) in test ? workload.TestSettings : workload.BaseSettings)
        {
            env[key] = value;
        }

        return env;
    }

    [GeneratedRegex(@"ops=(?<ops>\d+) cpu_ns=(?<cpu>-?\d+) wall_ns=(?<wall>\d+)")]
    private static partial Regex ResultLine();
}
