// The payments service: one endpoint per payment provider. The bank transfer endpoint is
// deliberately slow (it stands in for a slow third-party bank API), so the demo's trace shows it
// on the critical path.
var app = WebApplication.CreateBuilder(args).Build();

app.MapGet("/healthz", () => Results.Ok("ok"));

app.MapPost("/payments/card", (PaymentRequest payment, ILogger<PaymentRequest> log) =>
{
    log.LogInformation("card payment for order {OrderId} approved ({Amount})", payment.OrderId, payment.Amount);
    return Results.Ok(new { payment.OrderId, approved = true });
});

app.MapPost("/payments/bank-transfer", async (PaymentRequest payment, ILogger<PaymentRequest> log) =>
{
    await Task.Delay(900);
    log.LogInformation("bank transfer for order {OrderId} approved ({Amount})", payment.OrderId, payment.Amount);
    return Results.Ok(new { payment.OrderId, approved = true });
});

app.Run();

internal sealed record PaymentRequest(int OrderId, decimal Amount);
