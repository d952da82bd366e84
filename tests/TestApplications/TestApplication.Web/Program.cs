using System.Diagnostics;
using System.Net;

// A web app with no tracing code: front and back of the HTTP tests are two instances of it.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
#if WITH_OPENTELEMETRY_SDK
// Only when compiled into TestApplication.WebWithOpenTelemetry, the parity test's SDK side.
SdkSetup.Configure(builder.Services);
#endif
var app = builder.Build();
var backend = Environment.GetEnvironmentVariable("BACKEND_URL") ?? "http://127.0.0.1:1";
var client = new HttpClient { BaseAddress = new Uri(backend) };

// A header of the app's own on every outgoing call, for the HttpClient header capture.
client.DefaultRequestHeaders.Add("X-Caller", "front");

app.MapGet("/hello", () => "hello");
app.MapGet("/items/{id:int}", (int id) => Results.Ok(new { id }));
app.MapGet("/health", () => "ok");
app.MapGet("/status/{code:int}", (int code) => Results.StatusCode(code));
app.MapGet("/throw", string () => throw new InvalidOperationException("boom from the test app"));
app.MapGet("/slow/{ms:int}", async (int ms) =>
{
    await Task.Delay(ms);
    return "slow";
});
app.MapGet("/echo-headers", (HttpRequest request) =>
    Results.Ok(request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToArray())));
app.MapGet("/front", async (HttpRequest request) =>
{
    var path = request.Query["path"].ToString();
    using var response = await client.GetAsync(string.IsNullOrEmpty(path) ? "/items/7?token=abc123" : path);
    var body = await response.Content.ReadAsStringAsync();
    return Results.Text(body, statusCode: (int)response.StatusCode);
});
app.MapGet("/front-then-wait/{ms:int}", async (int ms) =>
{
    // A fast backend call, then this service alone is slow.
    using var response = await client.GetAsync("/items/7");
    await Task.Delay(ms);
    return Results.Text(await response.Content.ReadAsStringAsync(), statusCode: (int)response.StatusCode);
});
app.MapGet("/front/{id:int}", async (int id) =>
{
    // One backend call per request, keyed by the request's own id, for the concurrency tests.
    using var response = await client.GetAsync("/items/" + id.ToString(System.Globalization.CultureInfo.InvariantCulture));
    var body = await response.Content.ReadAsStringAsync();
    return Results.Text(body, statusCode: (int)response.StatusCode);
});

// The managed heap after a full collection, for the reliability tests' memory bounds.
app.MapGet("/__gc", () => GC.GetTotalMemory(forceFullCollection: true).ToString(System.Globalization.CultureInfo.InvariantCulture));
app.MapGet("/call-refused", async () =>
{
    try
    {
        using var refused = new HttpClient();
        await refused.GetAsync("http://127.0.0.1:1/nothing");
        return Results.Ok();
    }
    catch (HttpRequestException)
    {
        return Results.StatusCode((int)HttpStatusCode.BadGateway);
    }
});
app.MapGet("/call-timeout", async () =>
{
    try
    {
        using var impatient = new HttpClient { BaseAddress = new Uri(backend), Timeout = TimeSpan.FromMilliseconds(300) };
        await impatient.GetAsync("/slow/3000");
        return Results.Ok();
    }
    catch (TaskCanceledException)
    {
        return Results.StatusCode((int)HttpStatusCode.GatewayTimeout);
    }
});
// The W3C trace-context test service: the body is a JSON array of {"url", "arguments"}; each url is
// called with POST and its arguments as the body (w3c/trace-context test/README.md).
var onward = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
app.MapPost("/test", async (HttpRequest request) =>
{
    using var body = await System.Text.Json.JsonDocument.ParseAsync(request.Body);
    if (body.RootElement.ValueKind == System.Text.Json.JsonValueKind.Array)
    {
        foreach (var action in body.RootElement.EnumerateArray())
        {
            var url = action.GetProperty("url").GetString()!;
            var arguments = action.TryGetProperty("arguments", out var value) ? value.GetRawText() : "[]";
            using var content = new StringContent(arguments, System.Text.Encoding.UTF8, "application/json");
            using var response = await onward.PostAsync(url, content);
        }
    }

    return Results.Text("null", "application/json");
});
app.MapMethods("/any/{id:int}", ["GET", "POST", "PURGE"], (int id) => Results.Ok(new { id }));
app.MapGet("/trace-id", () => Activity.Current?.TraceId.ToHexString() ?? "none");
app.MapGet("/baggage", () => string.Join(",", Activity.Current?.Baggage.Select(b => b.Key + "=" + b.Value) ?? []));

// Printed by the host's graceful shutdown (SIGTERM), which the shutdown tests wait for.
app.Lifetime.ApplicationStopped.Register(() => Console.WriteLine("web app stopped"));

app.Run();
