// The payments service: approves a payment. The "slow-bank" method is deliberately slow, so the
// demo's trace shows it on the critical path.
var app = WebApplication.CreateBuilder(args).Build();

app.MapGet("/healthz", () => Results.Ok("ok"));

app.MapPost("/payments", async (PaymentRequest payment, ILogger<PaymentRequest> log) =>
{
    if (payment.Method == "slow-bank")
    {
        // Stands in for a slow third-party bank API.
        await Task.Delay(900);
    }

    log.LogInformation("payment for order {OrderId} approved ({Method}, {Amount})", payment.OrderId, payment.Method, payment.Amount);
    return Results.Ok(new { payment.OrderId, approved = true });
});

app.Run();

internal sealed record PaymentRequest(int OrderId, decimal Amount, string Method);
