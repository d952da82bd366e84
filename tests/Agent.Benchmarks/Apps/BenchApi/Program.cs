using Npgsql;
using StackExchange.Redis;
#if OTEL_SDK
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
#endif

// The benchmark suite's sample API. With BENCH_ROLE=peer it is the small downstream service that
// /work calls (only /hello is used). Otherwise /work does one HttpClient call to the peer, one
// Redis GET and one PostgreSQL query per request.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var role = Environment.GetEnvironmentVariable("BENCH_ROLE") ?? "api";

#if OTEL_SDK
// What a user writes by hand for the same coverage as the agent (OTLP settings come from the
// same OTEL_* variables the agent reads). There is no StackExchange.Redis instrumentation among
// the packages used here, so this variant makes no Redis spans; the agent does.
builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource => resource.AddService(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") ?? "bench-api"))
    .WithTracing(tracing => tracing
        .AddAspNetCoreInstrumentation()
        .AddHttpClientInstrumentation()
        .AddSource("Npgsql")
        .AddOtlpExporter());
#endif

var app = builder.Build();
app.MapGet("/hello", () => "hello");

if (role != "peer")
{
    var peer = new HttpClient { BaseAddress = new Uri(Environment.GetEnvironmentVariable("BENCH_PEER_URL") ?? "http://127.0.0.1:1") };
    var redisAddress = Environment.GetEnvironmentVariable("BENCH_REDIS");
    var postgres = Environment.GetEnvironmentVariable("BENCH_POSTGRES");

    // Connected lazily so that start-up (time to the first /hello) does not include the servers.
    var redis = redisAddress is null ? null : new Lazy<Task<ConnectionMultiplexer>>(() => ConnectionMultiplexer.ConnectAsync(redisAddress + ",abortConnect=false"));
    var dataSource = postgres is null ? null : NpgsqlDataSource.Create(postgres);

    app.MapGet("/work", async () =>
    {
        using var response = await peer.GetAsync("/hello");
        var body = await response.Content.ReadAsStringAsync();
        string? cached = null;
        if (redis is not null)
        {
            var db = (await redis.Value).GetDatabase();
            cached = await db.StringGetAsync("bench:key");
        }

        object? row = null;
        if (dataSource is not null)
        {
            await using var command = dataSource.CreateCommand("SELECT id, name FROM items WHERE id = $1");
            command.Parameters.AddWithValue(7);
            await using var reader = await command.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                row = reader.GetString(1);
            }
        }

        // One log record per request: free without a logging provider, exported with
        // OTEL_LOGS_EXPORTER=otlp (the log-export row of the report).
        app.Logger.LogInformation("work done: {PeerBytes} bytes from the peer, cached {Cached}", body.Length, cached is not null);
        return Results.Text(body + "|" + cached + "|" + row);
    });
}

app.Run();
