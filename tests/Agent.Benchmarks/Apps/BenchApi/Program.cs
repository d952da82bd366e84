using Npgsql;
using StackExchange.Redis;

// The load part's sample API. With BENCH_ROLE=peer it is the small downstream service that /work
// calls (only /hello is used). Otherwise /work does one HttpClient call to the peer, one Redis GET
// and one PostgreSQL query per request: the work of a typical service, all of it traced.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var role = Environment.GetEnvironmentVariable("BENCH_ROLE") ?? "api";

var app = builder.Build();
app.MapGet("/hello", () => "hello");

if (role != "peer")
{
    var peer = new HttpClient { BaseAddress = new Uri(Environment.GetEnvironmentVariable("BENCH_PEER_URL") ?? "http://127.0.0.1:1") };
    var redisAddress = Environment.GetEnvironmentVariable("BENCH_REDIS");
    var postgres = Environment.GetEnvironmentVariable("BENCH_POSTGRES");

    // Connected at the first /work, so that /hello answers as soon as the host runs.
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
        // OTEL_LOGS_EXPORTER=otlp (the optional log-export configuration of the suite).
        app.Logger.LogInformation("work done: {PeerBytes} bytes from the peer, cached {Cached}", body.Length, cached is not null);
        return Results.Text(body + "|" + cached + "|" + row);
    });
}

app.Run();
