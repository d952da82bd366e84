using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

// A web app with no telemetry code of the agent's: its own meters are plain System.Diagnostics.Metrics,
// as an app would write them. The metrics tests read what the agent exports of them and of the
// framework's meters.
var shop = new Meter("TestApp.Shop", "1.0");
var orders = shop.CreateCounter<long>("shop.orders", "{order}", "Orders placed.");
var amounts = shop.CreateHistogram<double>("shop.order.amount", "USD", "Order amounts.");
var labels = shop.CreateCounter<long>("shop.labels", "{label}", "One series per label, for the cardinality limit.");
var inventory = new Meter("TestApp.Inventory");
var stock = 0L;
inventory.CreateObservableGauge("inventory.stock", () => Interlocked.Read(ref stock), "{item}", "Items in stock.");
var hidden = new Meter("Other.Hidden");
var hiddenCounter = hidden.CreateCounter<long>("hidden.calls");

if (Environment.GetEnvironmentVariable("RUN_ONCE") is { } once)
{
    // A short-lived process: measures, then exits normally; only the flush at exit can export it.
    var count = int.Parse(once, CultureInfo.InvariantCulture);
    for (var i = 0; i < count; i++)
    {
        orders.Add(1, new KeyValuePair<string, object?>("shop.region", "eu"));
    }

    // Instruments made without bound (named from data, say), one measurement each.
    var many = new Meter("TestApp.Many");
    var instruments = int.Parse(Environment.GetEnvironmentVariable("MANY_INSTRUMENTS") ?? "0", CultureInfo.InvariantCulture);
    for (var i = 0; i < instruments; i++)
    {
        many.CreateCounter<long>("many." + i.ToString(CultureInfo.InvariantCulture)).Add(1);
    }

    Console.WriteLine("measured " + count.ToString(CultureInfo.InvariantCulture));
    return;
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var backend = Environment.GetEnvironmentVariable("BACKEND_URL");
var client = new HttpClient();

app.MapGet("/orders/{id:int}", (int id, string? region) =>
{
    orders.Add(1, new KeyValuePair<string, object?>("shop.region", region ?? "eu"));
    amounts.Record(id, new KeyValuePair<string, object?>("shop.region", region ?? "eu"));
    hiddenCounter.Add(1);
    Interlocked.Add(ref stock, id);
    return Results.Ok(new { id, trace = Activity.Current?.TraceId.ToHexString() });
});
app.MapGet("/fail", string () => throw new InvalidOperationException("failing on purpose"));
app.MapGet("/labels/{label}", (string label) =>
{
    labels.Add(1, new KeyValuePair<string, object?>("shop.label", label));
    return "ok";
});
app.MapGet("/call/{id:int}", async (int id) =>
{
    using var response = await client.GetAsync(backend + "/orders/" + id.ToString(CultureInfo.InvariantCulture));
    return Results.Text(await response.Content.ReadAsStringAsync(), statusCode: (int)response.StatusCode);
});
app.MapGet("/runtime", () => Environment.Version.ToString());

app.Run();
