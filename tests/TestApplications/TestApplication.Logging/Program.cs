// A plain web app that logs through ILogger to the console, with scopes, and has no tracing or
// correlation code of its own. LOG_FORMAT=json selects the JSON console formatter.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.ClearProviders();
if (Environment.GetEnvironmentVariable("LOG_FORMAT") == "json")
{
    builder.Logging.AddJsonConsole(options => options.IncludeScopes = true);
}
else
{
    builder.Logging.AddSimpleConsole(options =>
    {
        options.IncludeScopes = true;
        options.SingleLine = true;
    });
}

// Like many apps, this one turns off the activity tracking the default host sets up
// (TraceId|SpanId|ParentId), so trace ids in its output can only come from the agent.
builder.Logging.Configure(options => options.ActivityTrackingOptions = ActivityTrackingOptions.None);

// IHttpClientFactory, whose handlers log each request's URL (redacted by the framework).
builder.Services.AddHttpClient();

var app = builder.Build();
var appLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TestApplication.Logging.Lifetime");

app.MapGet("/__ready", () => "ready");

app.MapGet("/log", (string marker, ILogger<Program> logger) =>
{
    logger.LogInformation("Inside request {Marker} with {Count} items", marker, 3);
    return "logged";
});

// A state of the app's own, with no message template: only its formatter makes the text.
app.MapGet("/log-state", (string marker, ILogger<Program> logger) =>
{
    var state = new List<KeyValuePair<string, object?>> { new("Marker", marker) };
    logger.Log(LogLevel.Warning, new EventId(7), state, null, (s, _) => "custom state " + s[0].Value);
    return "logged";
});

// Levels below and above the usual ones, and values of several types, logged under a culture
// whose decimal separator is a comma (the answer shows that it took).
app.MapGet("/log-levels", (string marker, ILogger<Program> logger) =>
{
    System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
    logger.LogTrace("Level trace {Marker}", marker);
    logger.LogDebug("Level debug {Marker}", marker);
    logger.LogCritical("Level critical {Marker} {Flag} {Ids} {Amount}", marker, true, new[] { 1, 2 }, 1.5m);
    return 1.5m.ToString(System.Globalization.CultureInfo.CurrentCulture);
});

app.MapGet("/fail", (string marker, ILogger<Program> logger) =>
{
    try
    {
        throw new InvalidOperationException("the order service is down");
    }
    catch (InvalidOperationException ex)
    {
        logger.LogError(new EventId(42, "OrderFailed"), ex, "Order {Marker} failed", marker);
    }

    return Results.StatusCode(500);
});

// An outgoing call through IHttpClientFactory to another server on 127.0.0.1:`port`, with a query
// value that must stay secret (the incoming request's URL, which the host logs, has none).
app.MapGet("/call", async (int port, IHttpClientFactory factory) =>
{
    using var client = factory.CreateClient();
    using var response = await client.GetAsync($"http://127.0.0.1:{port}/lookup?token=s3cret-query-value");
    return ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
});

app.MapGet("/outside", (string marker) =>
{
    // Logged from a thread with no current Activity: the record belongs to no trace.
    var thread = new Thread(() => appLogger.LogWarning("Outside any request {Marker}", marker));
    thread.UnsafeStart();
    thread.Join();
    return "logged";
});

app.Run();

public partial class Program;
