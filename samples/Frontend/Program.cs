using System.Globalization;

// The shop's front door: takes a checkout and asks the orders service to place the order.
var builder = WebApplication.CreateBuilder(args);
string ordersUrl = builder.Configuration["ORDERS_URL"] ?? throw new InvalidOperationException("set ORDERS_URL");
builder.Services.AddSingleton(new HttpClient { BaseAddress = new Uri(ordersUrl), Timeout = TimeSpan.FromSeconds(30) });
var app = builder.Build();

app.MapGet("/healthz", () => Results.Ok("ok"));

app.MapPost("/checkout", async (string sku, int quantity, string? payment, HttpClient orders, ILogger<Program> log) =>
{
    using HttpResponseMessage response = await orders.PostAsJsonAsync(
        "/orders",
        new { Sku = sku, Quantity = quantity, PaymentMethod = payment ?? "card" });
    string body = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode)
    {
        log.LogWarning("checkout of {Quantity} x {Sku} refused: orders answered {StatusCode}", quantity, sku, (int)response.StatusCode);
    }

    return response.IsSuccessStatusCode
        ? Results.Content(body, "application/json")
        : Results.Problem(
            statusCode: StatusCodes.Status502BadGateway,
            detail: string.Create(CultureInfo.InvariantCulture, $"orders answered {(int)response.StatusCode}"));
});

app.MapGet("/catalog", async (HttpClient orders) =>
    Results.Content(await orders.GetStringAsync("/catalog"), "application/json"));

app.Run();
