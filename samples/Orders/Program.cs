using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.EntityFrameworkCore;
using Sample.Orders;
using StackExchange.Redis;
using Order = Sample.Orders.Order;

// The orders service: prices an order (Redis cache in front of PostgreSQL), stores it through
// EF Core, and announces it on the Kafka topic order.created.
var builder = WebApplication.CreateBuilder(args);
string database = builder.Configuration["ORDERS_DB"] ?? throw new InvalidOperationException("set ORDERS_DB");
string redis = builder.Configuration["REDIS"] ?? throw new InvalidOperationException("set REDIS");
string kafka = builder.Configuration["KAFKA_BOOTSTRAP"] ?? throw new InvalidOperationException("set KAFKA_BOOTSTRAP");

builder.Services.AddDbContext<ShopDb>(options => options.UseNpgsql(database));
builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redis));
builder.Services.AddSingleton(_ => new ProducerBuilder<string, string>(new ProducerConfig
{
    BootstrapServers = kafka,
    LingerMs = 0,
}).Build());
var app = builder.Build();

using (var scope = app.Services.CreateScope())
{
    var db = scope.ServiceProvider.GetRequiredService<ShopDb>();
    db.Database.EnsureCreated();
    if (!db.Products.Any())
    {
        string[] names = ["espresso", "grinder", "kettle", "filter", "mug", "scale", "beans", "tamper", "carafe", "dripper"];
        for (int i = 0; i < names.Length; i++)
        {
            db.Products.Add(new Product { Sku = names[i], Name = CultureInfo.InvariantCulture.TextInfo.ToTitleCase(names[i]), Price = 5 + (i * 3.5m) });
        }

        db.SaveChanges();
    }
}

// Connect at start-up, not on the first request.
app.Services.GetRequiredService<IConnectionMultiplexer>();

app.MapGet("/healthz", () => Results.Ok("ok"));

app.MapPost("/orders", async (OrderRequest request, ShopDb db, IConnectionMultiplexer cache, IProducer<string, string> producer, ILogger<OrderRequest> log) =>
{
    decimal? price = await PriceAsync(request.Sku, db, cache.GetDatabase());
    if (price is null)
    {
        return Results.NotFound($"no product {request.Sku}");
    }

    var order = new Order
    {
        Sku = request.Sku,
        Quantity = request.Quantity,
        Total = price.Value * request.Quantity,
        PaymentMethod = request.PaymentMethod,
        CreatedAt = DateTime.UtcNow,
    };
    db.Orders.Add(order);
    await db.SaveChangesAsync();

    string message = JsonSerializer.Serialize(new OrderCreated(order.Id, order.Sku, order.Quantity, order.Total, order.PaymentMethod));
    await producer.ProduceAsync("order.created", new Message<string, string>
    {
        Key = order.Id.ToString(CultureInfo.InvariantCulture),
        Value = message,
    });
    log.LogInformation("order {OrderId} placed: {Quantity} x {Sku}, {Total}", order.Id, order.Quantity, order.Sku, order.Total);
    return Results.Created($"/orders/{order.Id}", new { order.Id, order.Total });
});

// Deliberately reads the catalog one row at a time (the N+1 pattern the viewer points out).
app.MapGet("/catalog", async (ShopDb db) =>
{
    List<int> ids = await db.Products.OrderBy(p => p.Id).Select(p => p.Id).ToListAsync();
    var products = new List<Product>();
    foreach (int id in ids)
    {
        products.Add(await db.Products.AsNoTracking().FirstAsync(p => p.Id == id));
    }

    return Results.Ok(products.Select(p => new { p.Sku, p.Name, p.Price }));
});

app.Run();

static async Task<decimal?> PriceAsync(string sku, ShopDb db, IDatabase cache)
{
    string key = "price:" + sku;
    RedisValue cached = await cache.StringGetAsync(key);
    if (cached.HasValue)
    {
        return decimal.Parse(cached.ToString(), CultureInfo.InvariantCulture);
    }

    decimal? price = await db.Products.Where(p => p.Sku == sku).Select(p => (decimal?)p.Price).FirstOrDefaultAsync();
    if (price is not null)
    {
        await cache.StringSetAsync(key, price.Value.ToString(CultureInfo.InvariantCulture), TimeSpan.FromMinutes(5));
    }

    return price;
}

internal sealed record OrderRequest(string Sku, int Quantity, string PaymentMethod);

internal sealed record OrderCreated(int OrderId, string Sku, int Quantity, decimal Total, string PaymentMethod);
