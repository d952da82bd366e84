using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using Confluent.Kafka;

// The payment worker: takes each order.created message and asks the payments service to charge it.
string kafka = Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP") ?? throw new InvalidOperationException("set KAFKA_BOOTSTRAP");
string paymentsUrl = Environment.GetEnvironmentVariable("PAYMENTS_URL") ?? throw new InvalidOperationException("set PAYMENTS_URL");

using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

using var payments = new HttpClient { BaseAddress = new Uri(paymentsUrl), Timeout = TimeSpan.FromSeconds(30) };
using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
{
    BootstrapServers = kafka,
    GroupId = "payment-worker",
    AutoOffsetReset = AutoOffsetReset.Earliest,
    EnableAutoCommit = true,
})
    .SetPartitionsAssignedHandler((_, partitions) =>
        Console.WriteLine($"worker: consuming order.created ({partitions.Count} partition(s) assigned)"))
    .Build();
consumer.Subscribe("order.created");
Console.WriteLine("worker: subscribed to order.created, joining the consumer group");

while (!stop.IsCancellationRequested)
{
    // A short poll keeps the loop responsive to SIGTERM.
    ConsumeResult<string, string>? result = consumer.Consume(TimeSpan.FromMilliseconds(200));
    if (result?.Message is null)
    {
        continue;
    }

    OrderCreated? order = JsonSerializer.Deserialize<OrderCreated>(result.Message.Value);
    if (order is null)
    {
        continue;
    }

    try
    {
        // One endpoint per provider: /payments/card, /payments/bank-transfer.
        using HttpResponseMessage response = await payments.PostAsJsonAsync(
            "/payments/" + Uri.EscapeDataString(order.PaymentMethod),
            new { order.OrderId, Amount = order.Total });
        Console.WriteLine($"worker: order {order.OrderId} payment answered {(int)response.StatusCode}");
    }
    catch (HttpRequestException ex)
    {
        Console.WriteLine($"worker: order {order.OrderId} payment failed: {ex.Message}");
    }
}

consumer.Close();
return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

internal sealed record OrderCreated(int OrderId, string Sku, int Quantity, decimal Total, string PaymentMethod);
