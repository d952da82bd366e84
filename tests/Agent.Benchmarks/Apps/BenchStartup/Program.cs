using System.Globalization;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using StackExchange.Redis;

// Start-up benchmark app. Before serving, it does what a service checking its dependencies does:
// one HttpClient call (BENCH_PEER_URL), one PostgreSQL query through Npgsql and one through EF Core
// (BENCH_POSTGRES), a Redis connection and one command (BENCH_REDIS), a Kafka producer that sends
// one message and a consumer that reads it back (BENCH_KAFKA). /hello then answers with the
// process's CPU time in a header, read by the process itself at that moment (every thread, ended
// ones included, in nanoseconds): /proc/<pid>/stat counts in 10 ms ticks, too coarse here. A
// second header splits it by thread (ProcessCpu.ByThread): the main thread (the startup hooks,
// then this file's code until its first await that does not complete at once), the thread pool's
// workers (the rest of it, as continuations), the server GC's threads, the tiered-compilation
// thread, librdkafka's threads, the tracer's own, the other threads alive, the threads that ended.
//
// As a job (BENCH_JOB_CPU_FILE set: a command-line tool, a scheduled task) it does the same work
// with no web host, closes its clients and ends; its last act is to write the process's CPU time
// to that file, from an exit handler of its own. The tracer's exit handler, registered before Main
// by its startup hook, runs before it: the CPU written includes sending what the tracer held.
var jobCpuFile = Environment.GetEnvironmentVariable("BENCH_JOB_CPU_FILE") is { Length: > 0 } file ? file : null;
WebApplication? app = null;
if (jobCpuFile is null)
{
    var builder = WebApplication.CreateSlimBuilder(args);
    builder.Logging.ClearProviders();
    app = builder.Build();
}

string Required(string name) => Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException(name + " is not set");

using (var http = new HttpClient())
{
    _ = await http.GetStringAsync(new Uri(new Uri(Required("BENCH_PEER_URL")), "/hello"));
}

var postgres = Required("BENCH_POSTGRES");
await using (var dataSource = NpgsqlDataSource.Create(postgres))
await using (var command = dataSource.CreateCommand("SELECT 1"))
{
    await command.ExecuteScalarAsync();
}

await using (var context = new ItemsContext(postgres))
{
    _ = await context.Items.Where(i => i.Id == 7).Select(i => i.Name).FirstOrDefaultAsync();
}

var redis = await ConnectionMultiplexer.ConnectAsync(Required("BENCH_REDIS"));
await redis.GetDatabase().StringGetAsync("bench:key");

var kafka = Required("BENCH_KAFKA");
var topic = new TopicPartition("bench-startup", new Partition(0));
var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka }).Build();
var delivered = await producer.ProduceAsync(topic, new Message<Null, string> { Value = "started" });
var consumer = new ConsumerBuilder<Null, string>(new ConsumerConfig
{
    BootstrapServers = kafka,
    GroupId = "bench-startup",
    EnableAutoCommit = false,
}).Build();
consumer.Assign(new TopicPartitionOffset(topic, delivered.Offset));
if (consumer.Consume(TimeSpan.FromSeconds(10)) is null)
{
    throw new InvalidOperationException("the message produced at start did not come back");
}

if (jobCpuFile is not null)
{
    consumer.Close();
    consumer.Dispose();
    producer.Flush(TimeSpan.FromSeconds(10));
    producer.Dispose();
    await redis.DisposeAsync();
    AppDomain.CurrentDomain.ProcessExit += (_, _) => File.WriteAllText(jobCpuFile, ProcessCpu.Nanoseconds().ToString(CultureInfo.InvariantCulture));
    return;
}

app!.MapGet("/hello", (HttpContext context) =>
{
    context.Response.Headers["X-Process-Cpu-Ns"] = ProcessCpu.Nanoseconds().ToString(CultureInfo.InvariantCulture);
    context.Response.Headers["X-Thread-Cpu-Ns"] = ProcessCpu.ByThread();
    return "hello";
});

// The clients stay open, as a service's would.
GC.KeepAlive(redis);
GC.KeepAlive(producer);
GC.KeepAlive(consumer);
app!.Run();

internal sealed class Item
{
    public int Id { get; set; }

    public string Name { get; set; } = "";
}

internal sealed class ItemsContext(string connectionString) : DbContext
{
    public DbSet<Item> Items => Set<Item>();

    protected override void OnConfiguring(DbContextOptionsBuilder options) => options.UseNpgsql(connectionString);

    protected override void OnModelCreating(ModelBuilder model) => model.Entity<Item>(e =>
    {
        e.ToTable("items");
        e.Property(i => i.Id).HasColumnName("id");
        e.Property(i => i.Name).HasColumnName("name");
    });
}

internal static partial class ProcessCpu
{
    private const int ClockProcessCputimeId = 2;

    public static long Nanoseconds() => Read(ClockProcessCputimeId);

    /// <summary>
    /// "main=N;pool=N;gc=N;jit=N;kafka=N;tracer=N;other=N;ended=N", CPU ns by group of threads
    /// (by thread name). A thread's own clock is MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) of the
    /// kernel's posix-timers.h; "ended" is the process's CPU less what its live threads have used.
    /// </summary>
    public static string ByThread()
    {
        int pid = Environment.ProcessId;
        long main = 0, pool = 0, gc = 0, jit = 0, kafka = 0, tracer = 0, other = 0;
        foreach (var directory in Directory.GetDirectories("/proc/self/task"))
        {
            int tid = int.Parse(Path.GetFileName(directory), CultureInfo.InvariantCulture);
            string name;
            try
            {
                name = File.ReadAllText(Path.Combine(directory, "comm")).TrimEnd('\n');
            }
            catch (IOException)
            {
                continue; // ended meanwhile: counted with the ended threads
            }

            long used = Math.Max(0, Read((~tid << 3) | 6));
            if (tid == pid)
            {
                main += used;
            }
            else if (name.StartsWith(".NET TP ", StringComparison.Ordinal))
            {
                pool += used;
            }
            else if (name.StartsWith(".NET Server GC", StringComparison.Ordinal) || name.StartsWith(".NET BGC", StringComparison.Ordinal))
            {
                gc += used;
            }
            else if (name.StartsWith(".NET Tiered Com", StringComparison.Ordinal))
            {
                jit += used;
            }
            else if (name.StartsWith("rdk:", StringComparison.Ordinal))
            {
                kafka += used;
            }
            else if (name.StartsWith("traceagent", StringComparison.Ordinal) || name.StartsWith("OpenTelemetry", StringComparison.Ordinal))
            {
                tracer += used;
            }
            else
            {
                other += used;
            }
        }

        long ended = Math.Max(0, Nanoseconds() - main - pool - gc - jit - kafka - tracer - other);
        return string.Create(CultureInfo.InvariantCulture, $"main={main};pool={pool};gc={gc};jit={jit};kafka={kafka};tracer={tracer};other={other};ended={ended}");
    }

    private static long Read(int clock) => ClockGetTime(clock, out var time) == 0 ? (time.Seconds * 1_000_000_000L) + time.Nanoseconds : -1;

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
