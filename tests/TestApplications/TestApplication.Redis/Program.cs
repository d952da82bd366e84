using System.Diagnostics;
using System.Runtime;
using StackExchange.Redis;

// A plain web app using Redis, with no tracing code: the agent must trace it from outside.
// Every exception thrown in the process, caught or not, as a debugger or an APM would see it.
long firstChance = 0;
string lastFirstChance = "";
AppDomain.CurrentDomain.FirstChanceException += (_, e) =>
{
    Interlocked.Increment(ref firstChance);
    lastFirstChance = e.Exception.GetType().FullName + ": " + e.Exception.Message;
};

// With REDIS_APP_LISTENER=1, an ActivityListener of the app's own on the agent's Redis source
// counts the Activities it sees (it samples none itself): command spans the agent writes with no
// Activity never reach it.
long redisActivities = 0;
if (Environment.GetEnvironmentVariable("REDIS_APP_LISTENER") == "1")
{
    ActivitySource.AddActivityListener(new ActivityListener
    {
        ShouldListenTo = source => source.Name == "TraceAgent.StackExchangeRedis",
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
        ActivityStarted = _ => Interlocked.Increment(ref redisActivities),
    });
}

var builder = WebApplication.CreateSlimBuilder(args);
var app = builder.Build();

var redis = await ConnectionMultiplexer.ConnectAsync(Environment.GetEnvironmentVariable("REDIS") ?? "127.0.0.1:6379");
var db = redis.GetDatabase();

app.MapGet("/get-set", async () =>
{
    await db.StringSetAsync("greeting", "secret-value");
    var value = db.StringGet("greeting");
    return Results.Text(value.ToString());
});

app.MapGet("/batch", async () =>
{
    var batch = db.CreateBatch();
    var first = batch.StringSetAsync("batch:1", "one");
    var second = batch.StringSetAsync("batch:2", "two");
    var both = batch.StringGetAsync(["batch:1", "batch:2"]);
    batch.Execute();
    await Task.WhenAll(first, second, both);
    return Results.Text("batch");
});

app.MapGet("/transaction", async () =>
{
    var transaction = db.CreateTransaction();
    _ = transaction.StringIncrementAsync("tx:counter");
    _ = transaction.KeyExpireAsync("tx:counter", TimeSpan.FromMinutes(5));
    var committed = await transaction.ExecuteAsync();
    return Results.Text(committed ? "committed" : "aborted");
});

app.MapGet("/blocking", async () =>
{
    // BLPOP on an empty list blocks on the server for its timeout: a command of known duration.
    await db.KeyDeleteAsync("empty:list");
    await db.ExecuteAsync("BLPOP", "empty:list", "0.3");
    return Results.Text("blocked");
});

app.MapGet("/failing", async () =>
{
    await db.StringSetAsync("not:a:number", "abc");
    try
    {
        await db.StringIncrementAsync("not:a:number");
        return Results.Text("no error");
    }
    catch (RedisServerException ex)
    {
        return Results.Text("error: " + ex.Message);
    }
});

app.MapGet("/background", () =>
{
    // Work with no request around it: ThreadPool without the request's execution context.
    ThreadPool.UnsafeQueueUserWorkItem(_ => db.StringSet("background:key", "background-value"), null);
    return Results.Text("queued");
});

// A GET that times out: a connection with a 200 ms timeout, while another pauses every client.
ConnectionMultiplexer? admin = null;
ConnectionMultiplexer? shortTimeout = null;
app.MapGet("/timeout", async (bool? wait) =>
{
    var endpoint = Environment.GetEnvironmentVariable("REDIS") ?? "127.0.0.1:6379";
    admin ??= await ConnectionMultiplexer.ConnectAsync(endpoint + ",allowAdmin=true");
    shortTimeout ??= await ConnectionMultiplexer.ConnectAsync(endpoint + ",syncTimeout=200,asyncTimeout=200");
    // An async timeout is noticed at the library's once-a-second heartbeat: a longer pause for it.
    await admin.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", wait == true ? "2500" : "700");
    try
    {
        // ?wait=true: awaited (an async timeout), otherwise a blocking call (a sync one).
        _ = wait == true ? await shortTimeout.GetDatabase().StringGetAsync("timeout:key") : shortTimeout.GetDatabase().StringGet("timeout:key");
        return Results.Text("no timeout");
    }
    catch (RedisTimeoutException ex)
    {
        return Results.Text("timeout: " + ex.Message);
    }
});

// An options provider of the app's own, registered before a connection to "localhost" that it
// claims (the app's other connection, to 127.0.0.1, is left to the library's default).
app.MapGet("/own-provider", async () =>
{
    StackExchange.Redis.Configuration.DefaultOptionsProvider.AddProvider(new LocalhostProvider());
    var endpoint = (Environment.GetEnvironmentVariable("REDIS") ?? "127.0.0.1:6379").Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
    using var own = await ConnectionMultiplexer.ConnectAsync(endpoint);
    await own.GetDatabase().StringSetAsync("own:provider", "value");
    return Results.Text("provider " + ConfigurationOptions.Parse(endpoint).Defaults.GetType().Name);
});

// A second connection on which the app registers a profiler of its own (as another APM would),
// then runs one command on it; the session's commands are returned, so the app's profiler works.
ConnectionMultiplexer? ownProfiled = null;
var ownSession = new StackExchange.Redis.Profiling.ProfilingSession();
app.MapGet("/own-profiler", async () =>
{
    ownProfiled ??= await ConnectionMultiplexer.ConnectAsync(Environment.GetEnvironmentVariable("REDIS") ?? "127.0.0.1:6379");
    ownProfiled.RegisterProfiler(() => ownSession);
    await ownProfiled.GetDatabase().StringSetAsync("own:profiled", "value");
    return Results.Text("own profiler saw " + ownSession.FinishProfiling().Count().ToString(System.Globalization.CultureInfo.InvariantCulture));
});

app.MapGet("/redis-activities", () => Results.Text(Interlocked.Read(ref redisActivities).ToString(System.Globalization.CultureInfo.InvariantCulture)));

app.MapGet("/many", async (int count) =>
{
    for (var i = 0; i < count; i++)
    {
        await db.StringSetAsync("many:" + (i % 16), "v");
    }

    return Results.Text("done");
});

// Runs `count` commands, then holds its request open until /release: a long-lived Activity whose
// session must be drained while it runs.
var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
app.MapGet("/held", async (int count) =>
{
    for (var i = 0; i < count; i++)
    {
        await db.StringSetAsync("held:" + (i % 16), "v");
    }

    await held.Task;
    return Results.Text("released");
});
app.MapGet("/release", () =>
{
    held.TrySetResult();
    return Results.Text("releasing");
});

app.MapGet("/first-chance", () => Results.Text(Interlocked.Read(ref firstChance) + " " + lastFirstChance));

app.MapGet("/heap", () =>
{
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    GC.WaitForPendingFinalizers();
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    return Results.Text(GC.GetTotalMemory(forceFullCollection: true).ToString(System.Globalization.CultureInfo.InvariantCulture));
});

app.MapGet("/cloud-options", () =>
{
    // What the library's built-in providers decide for cloud endpoints, with or without the agent.
    var lines = new List<string>();
    foreach (var configuration in new[] { "x.redis.cache.windows.net,abortConnect=false", "x.redis.cache.windows.net:6380", "localhost:6390" })
    {
        var options = ConfigurationOptions.Parse(configuration);
        lines.Add($"{configuration} => ssl={options.Ssl} abort={options.AbortOnConnectFail} version={options.DefaultVersion} "
            + $"retry={options.ConnectRetry} keepAlive={options.KeepAlive} azure={options.Defaults is StackExchange.Redis.Configuration.AzureOptionsProvider} "
            + $"text={options.ToString(includePassword: false)}");
    }

    return Results.Text(string.Join('\n', lines));
});

app.Lifetime.ApplicationStopping.Register(() => redis.Dispose());
app.Run();

/// <summary>The app's own options provider for "localhost" endpoints (it changes nothing else).</summary>
internal sealed class LocalhostProvider : StackExchange.Redis.Configuration.DefaultOptionsProvider
{
    public override bool IsMatch(System.Net.EndPoint endpoint) => endpoint is System.Net.DnsEndPoint { Host: "localhost" };
}
