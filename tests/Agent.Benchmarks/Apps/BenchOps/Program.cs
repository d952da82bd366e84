using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using StackExchange.Redis;

// Runs `ops` operations of one kind after `warmup` of them, paced at `rate` a second, and prints
// one line: the operations and the CPU time the whole process spent on them (every thread: the
// agent's drain and export threads, librdkafka's and StackExchange.Redis's own), read with
// clock_gettime(CLOCK_PROCESS_CPUTIME_ID). The window closes `settle` ms after the last operation,
// so that spans exported on a timer are exported inside it; the runner sets OTEL_BSP_SCHEDULE_DELAY
// short for that, and checks that the sink has every span when the line is printed. The same program runs with and without the agent; the difference is its cost.
//
//   BenchOps <mode> <ops> <warmup> <rate> <settle-ms>
//   modes: redis (one GET in a server span of the app's own source, like a request making one
//          call; 32 such requests in flight at once), redis-root (GETs with no current span, 32 in
//          flight), kafka-produce (BENCH_KAFKA_HEADER=1: with a traceparent header of the app's
//          own), kafka-consume, spans (one server span with typical HTTP
//          attributes, of the app's own source), metrics (one /work request's framework-meter
//          measurements, api and peer, each in its server span)
var mode = args[0];
int ops = int.Parse(args[1], CultureInfo.InvariantCulture);
int warmup = int.Parse(args[2], CultureInfo.InvariantCulture);
int rate = int.Parse(args[3], CultureInfo.InvariantCulture);
int settle = int.Parse(args[4], CultureInfo.InvariantCulture);
var source = new ActivitySource("BenchOps");
var wait = TimeSpan.FromSeconds(30);
string Required(string name) => Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException(name + " is not set");

// One step runs one operation, or a batch of them (Redis: commands in flight together, as
// concurrent requests would have them, so that the process does not spin-wait for each round
// trip: that wait would cost more CPU than the command and drown the difference measured).
Func<int> step;
Action? afterEach = null;
IDisposable? resource = null;
switch (mode)
{
    case "redis":
    case "redis-root":
        {
            const int InFlight = 32;
            var multiplexer = ConnectionMultiplexer.Connect(Required("BENCH_REDIS"));
            var db = multiplexer.GetDatabase();
            resource = multiplexer;
            var commands = new Task<RedisValue>[InFlight];
            var requests = new Activity?[InFlight];
            bool inRequest = mode == "redis";
            step = () =>
            {
                for (int i = 0; i < InFlight; i++)
                {
                    if (inRequest)
                    {
                        // Each command in a request span of its own; the next request is not its child.
                        Activity.Current = null;
                        requests[i] = source.StartActivity("GET /cached", ActivityKind.Server);
                    }

                    commands[i] = db.StringGetAsync("bench:key");
                }

                Activity.Current = null;
                Task.WaitAll(commands);
                for (int i = 0; i < InFlight; i++)
                {
                    requests[i]?.Stop();
                }

                return InFlight;
            };
            break;
        }

    case "kafka-produce":
        {
            var topic = Required("BENCH_KAFKA_TOPIC");
            var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = Required("BENCH_KAFKA") }).Build();
            var message = new Message<Null, string> { Value = "benchmark message" };

            // The header the agent would add (BENCH_KAFKA_HEADER=1, runs with no agent): what
            // librdkafka costs to carry it, apart from the instrumentation.
            if (Environment.GetEnvironmentVariable("BENCH_KAFKA_HEADER") == "1")
            {
                message.Headers = new Headers { { "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"u8.ToArray() } };
            }

            resource = producer;
            step = () =>
            {
                producer.Produce(topic, message);
                return 1;
            };

            // Delivery reports (where a producer span ends) are part of the work: wait for them.
            afterEach = () => producer.Flush(wait);
            break;
        }

    case "kafka-consume":
        {
            var topics = Required("BENCH_KAFKA_TOPIC").Split(',');
            var bootstrap = Required("BENCH_KAFKA");

            // The runner filled the topic beforehand, each message with a traceparent header as a
            // traced producer upstream writes it: every message read is one the agent extracts from.
            List<TopicPartitionOffset> assignment;
            using (var metadata = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
            {
                assignment = [.. topics.SelectMany(topic => metadata.GetMetadata(topic, wait).Topics.Single().Partitions
                .Select(p => new TopicPartitionOffset(topic, new Partition(p.PartitionId), Offset.Beginning)))];
            }

            var consumer = new ConsumerBuilder<Null, string>(new ConsumerConfig
            {
                BootstrapServers = bootstrap,
                GroupId = "bench-ops",
                EnableAutoCommit = false,
            }).Build();
            consumer.Assign(assignment);
            resource = consumer;
            step = () => consumer.Consume(wait) is null ? throw new InvalidOperationException("ran out of messages to consume") : 1;
            break;
        }

    case "metrics":
        {
            // The measurements one /work request of the load part makes through the framework's
            // meters, by their names and attributes (the agent collects these meters by name): the
            // api's server and HttpClient instruments, its peer's server instruments, each inside
            // its sampled server span (histograms take exemplars from it). Tracing is on in both
            // processes; only the metrics differ.
            double[] bounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
            var hosting = new System.Diagnostics.Metrics.Meter("Microsoft.AspNetCore.Hosting");
            var http = new System.Diagnostics.Metrics.Meter("System.Net.Http");
            var serverDuration = hosting.CreateHistogram<double>("http.server.request.duration", "s", null, null, new System.Diagnostics.Metrics.InstrumentAdvice<double> { HistogramBucketBoundaries = bounds });
            var serverActive = hosting.CreateUpDownCounter<long>("http.server.active_requests", "{request}");
            var clientDuration = http.CreateHistogram<double>("http.client.request.duration", "s", null, null, new System.Diagnostics.Metrics.InstrumentAdvice<double> { HistogramBucketBoundaries = bounds });
            var clientActive = http.CreateUpDownCounter<long>("http.client.active_requests", "{request}");
            var clock = Stopwatch.StartNew();
            step = () =>
            {
                foreach (var (route, calls) in new[] { ("/work", true), ("/peer", false) })
                {
                    using var span = source.StartActivity("GET " + route, ActivityKind.Server);
                    var active = new TagList { { "http.request.method", "GET" }, { "url.scheme", "http" } };
                    serverActive.Add(1, active);
                    if (calls)
                    {
                        var client = new TagList { { "http.request.method", "GET" }, { "server.address", "127.0.0.1" }, { "server.port", 5001 }, { "url.scheme", "http" } };
                        clientActive.Add(1, client);
                        client.Add("http.response.status_code", 200);
                        client.Add("network.protocol.version", "1.1");
                        clientDuration.Record(clock.Elapsed.TotalSeconds % 0.01, client);
                        client.RemoveAt(5);
                        client.RemoveAt(4);
                        clientActive.Add(-1, client);
                    }

                    var done = new TagList { { "http.request.method", "GET" }, { "url.scheme", "http" }, { "http.route", route }, { "http.response.status_code", 200 }, { "network.protocol.version", "1.1" } };
                    serverDuration.Record(clock.Elapsed.TotalSeconds % 0.02, done);
                    serverActive.Add(-1, active);
                }

                return 1;
            };
            break;
        }

    case "spans":
        {
            int id = 0;
            step = () =>
            {
                using var span = source.StartActivity("GET /items/{id}", ActivityKind.Server);
                if (span is not null)
                {
                    span.SetTag("http.request.method", "GET");
                    span.SetTag("url.scheme", "http");
                    span.SetTag("url.path", "/items/" + (++id % 1000).ToString(CultureInfo.InvariantCulture));
                    span.SetTag("http.route", "/items/{id}");
                    span.SetTag("server.address", "127.0.0.1");
                    span.SetTag("server.port", 8080);
                    span.SetTag("network.protocol.version", "1.1");
                    span.SetTag("http.response.status_code", 200);
                }

                return 1;
            };
            break;
        }

    default:
        throw new ArgumentException("unknown mode " + mode);
}

// Warm-up: long enough for the tiered JIT to have promoted the hot paths (the agent's export
// path, HttpClient's, the libraries'); what it costs before that is the start-up's and the first
// seconds' cost, measured by the other parts.
Run(warmup, step);
afterEach?.Invoke();
Thread.Sleep(settle);
Console.Out.WriteLine("ready");
Console.Out.Flush();

// The runner alternates the windows of a base and a test process: "measure" runs one window.
while (Console.In.ReadLine() == "measure")
{
    long cpu = ProcessCpu.Nanoseconds();
    long wall = Stopwatch.GetTimestamp();
    int done = Run(ops, step);
    afterEach?.Invoke();
    Thread.Sleep(settle);
    cpu = ProcessCpu.Nanoseconds() - cpu;
    var elapsed = Stopwatch.GetElapsedTime(wall);
    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ops={done} cpu_ns={cpu} wall_ns={(long)(elapsed.TotalMilliseconds * 1_000_000)}"));
    Console.Out.Flush();
}

resource?.Dispose();
return 0;

// Paced: a burst faster than the tracer exports would overflow its queue, and a dropped span is
// work not done, which would flatter the agent. Returns the operations run (whole batches).
int Run(int count, Func<int> next)
{
    var clock = Stopwatch.StartNew();
    int done = 0;
    int checkedAt = 0;
    while (done < count)
    {
        done += next();
        if (done - checkedAt >= 64)
        {
            checkedAt = done;
            double ahead = (done * 1000.0 / rate) - clock.Elapsed.TotalMilliseconds;
            if (ahead >= 1)
            {
                Thread.Sleep((int)ahead);
            }
        }
    }

    return done;
}

internal static partial class ProcessCpu
{
    private const int ClockProcessCputimeId = 2;

    public static long Nanoseconds() => ClockGetTime(ClockProcessCputimeId, out var time) == 0 ? (time.Seconds * 1_000_000_000L) + time.Nanoseconds : -1;

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
