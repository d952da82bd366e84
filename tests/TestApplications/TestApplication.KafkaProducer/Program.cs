using System.Text;
using Confluent.Kafka;

// A web app that produces to Kafka in every way the tests check, with no tracing code. The broker
// comes from KAFKA_BOOTSTRAP; each endpoint takes the topic as ?topic= and answers with where the
// message went, once it is delivered.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

string bootstrap = Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP") ?? "127.0.0.1:9092";
var config = new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 5, MessageTimeoutMs = 10000 };

// KAFKA_PRODUCER_CONFIG: more client properties, "name=value;name=value" (delivery report settings).
foreach (var pair in (Environment.GetEnvironmentVariable("KAFKA_PRODUCER_CONFIG") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
{
    var parts = pair.Split('=', 2);
    config.Set(parts[0], parts[1]);
}

using var stringProducer = new ProducerBuilder<string, string>(config).Build();
using var intProducer = new ProducerBuilder<int, string>(config).Build();
using var nullKeyProducer = new ProducerBuilder<Null, string>(config).Build();
var timeout = TimeSpan.FromSeconds(15);

static IResult Delivered<TKey, TValue>(DeliveryResult<TKey, TValue> result) =>
    Results.Text($"delivered {result.Topic} {result.Partition.Value} {result.Offset.Value} {result.Status}");

app.MapGet("/ping", () => "pong");

// ProduceAsync, topic name, string (reference-type) key.
app.MapGet("/produce/async", async (string topic) =>
    Delivered(await stringProducer.ProduceAsync(topic, new Message<string, string> { Key = "order-1", Value = "async" })));

// ProduceAsync to an explicit partition.
app.MapGet("/produce/partition", async (string topic) =>
    Delivered(await stringProducer.ProduceAsync(new TopicPartition(topic, new Partition(0)), new Message<string, string> { Key = "order-2", Value = "partition" })));

// Produce with a delivery handler.
app.MapGet("/produce/handler", async (string topic) =>
{
    var done = new TaskCompletionSource<DeliveryReport<string, string>>(TaskCreationOptions.RunContinuationsAsynchronously);
    stringProducer.Produce(topic, new Message<string, string> { Key = "order-3", Value = "handler" }, report => done.TrySetResult(report));
    var report = await done.Task.WaitAsync(timeout);
    return Results.Text($"delivered {report.Topic} {report.Partition.Value} {report.Offset.Value} {report.Status} headers={report.Message.Headers?.Count ?? -1}");
});

// Produce to a TopicPartition with a delivery handler.
app.MapGet("/produce/handler-partition", async (string topic) =>
{
    var done = new TaskCompletionSource<DeliveryReport<string, string>>(TaskCreationOptions.RunContinuationsAsynchronously);
    stringProducer.Produce(new TopicPartition(topic, new Partition(0)), new Message<string, string> { Key = "order-4", Value = "handler-partition" }, report => done.TrySetResult(report));
    var report = await done.Task.WaitAsync(timeout);
    return Results.Text($"delivered {report.Topic} {report.Partition.Value} {report.Offset.Value} {report.Status}");
});

// Fire and forget: no handler at all; Flush waits until librdkafka has the broker's answer.
app.MapGet("/produce/nohandler", (string topic) =>
{
    stringProducer.Produce(topic, new Message<string, string> { Key = "order-5", Value = "fire-and-forget" });
    int left = stringProducer.Flush(timeout);
    return Results.Text($"flushed {left}");
});

// Produced outside any request's span, as a background worker produces: the flow of the
// request's context is suppressed for the task, so nothing is current when it produces.
app.MapGet("/produce/background", async (string topic) =>
{
    Task<DeliveryResult<string, string>> produced;
    using (ExecutionContext.SuppressFlow())
    {
        produced = Task.Run(() => stringProducer.ProduceAsync(topic, new Message<string, string> { Key = "order-6", Value = "background" }));
    }

    return Delivered(await produced);
});

// A producer nobody polls (background poll off): its message is delivered, but the delivery report
// waits in librdkafka's queue until /unpolled/dispose disposes of the producer without flushing.
IProducer<string, string>? unpolled = null;
app.MapGet("/produce/unpolled", (string topic) =>
{
    var unpolledConfig = new ProducerConfig(config.ToDictionary(p => p.Key, p => p.Value)) { EnableBackgroundPoll = false };
    unpolled = new ProducerBuilder<string, string>(unpolledConfig).Build();
    unpolled.Produce(topic, new Message<string, string> { Key = "order-8", Value = "never polled" });
    return Results.Text("produced");
});
app.MapGet("/produce/unpolled/dispose", () =>
{
    unpolled?.Dispose();
    return Results.Text("disposed");
});

// Keys the agent does not record: longer than 256 bytes, or with a control character.
app.MapGet("/produce/odd-keys", async (string topic) =>
{
    var longKey = await stringProducer.ProduceAsync(topic, new Message<string, string> { Key = new string('k', 257), Value = "long key" });
    var controlKey = await stringProducer.ProduceAsync(topic, new Message<string, string> { Key = "tab\there", Value = "control key" });
    return Results.Text($"delivered {longKey.Offset.Value} {controlKey.Offset.Value}");
});

// A value-type key.
app.MapGet("/produce/intkey", async (string topic) =>
    Delivered(await intProducer.ProduceAsync(topic, new Message<int, string> { Key = 42, Value = "int key" })));

// No key.
app.MapGet("/produce/nullkey", async (string topic) =>
    Delivered(await nullKeyProducer.ProduceAsync(topic, new Message<Null, string> { Value = "null key" })));

// A tombstone: a key and no value.
app.MapGet("/produce/tombstone", async (string topic) =>
    Delivered(await stringProducer.ProduceAsync(topic, new Message<string, string> { Key = "order-6", Value = null! })));

// The app's own headers, one of them named like a propagation header.
app.MapGet("/produce/headers", async (string topic) =>
{
    var headers = new Headers
    {
        { "app-header", Encoding.UTF8.GetBytes("one") },
        { "traceparent", Encoding.UTF8.GetBytes("00-11111111111111111111111111111111-2222222222222222-01") },
        { "app-second", Encoding.UTF8.GetBytes("two") },
    };
    var message = new Message<string, string> { Key = "order-7", Value = "headers", Headers = headers };
    var result = await stringProducer.ProduceAsync(topic, message);

    // The app's Headers object must come back untouched: the agent writes only to the native copy.
    string names = string.Join(",", message.Headers.Select(h => h.Key));
    return Results.Text($"delivered {result.Topic} {result.Partition.Value} {result.Offset.Value} {result.Status} app-headers={names} result-headers={string.Join(",", result.Message.Headers.Select(h => h.Key))}");
});

// Failures the app sees as exceptions: too large to enqueue (thrown by Produce itself), and a
// partition the topic does not have (reported through the delivery report or thrown).
app.MapGet("/produce/too-large", async (string topic) =>
{
    try
    {
        await stringProducer.ProduceAsync(topic, new Message<string, string> { Key = "big", Value = new string('x', 2_000_000) });
        return Results.Text("delivered");
    }
    catch (ProduceException<string, string> ex)
    {
        return Results.Text($"failed {ex.Error.Code}: {ex.GetType().Name}: {ex.Message} (status {ex.DeliveryResult?.Status})");
    }
});
app.MapGet("/produce/bad-partition", async (string topic) =>
{
    try
    {
        await stringProducer.ProduceAsync(new TopicPartition(topic, new Partition(99)), new Message<string, string> { Key = "nowhere", Value = "lost" });
        return Results.Text("delivered");
    }
    catch (ProduceException<string, string> ex)
    {
        return Results.Text($"failed {ex.Error.Code}: {ex.GetType().Name}: {ex.Message} (status {ex.DeliveryResult?.Status})");
    }
});

app.Run();
