using System.Globalization;
using Confluent.Kafka;

// A console consumer with no tracing code. Settings come from the environment:
//   KAFKA_BOOTSTRAP, KAFKA_TOPIC, KAFKA_GROUP   where and what to consume
//   KAFKA_COUNT                                 messages to handle before stopping
//   KAFKA_CONSUME   timeout | token             Consume(int ms) or Consume(CancellationToken)
//   KAFKA_END       close | dispose             Close() then Dispose(), or Dispose() alone
//   KAFKA_COMMIT    1                           Commit(result) after each message
//   HTTP_TARGET                                 a URL called once per message
// One stdout line per message: "consumed <topic> <partition> <offset> <key>", then "done".
string Setting(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : fallback;

string topic = Setting("KAFKA_TOPIC", "test");
int count = int.Parse(Setting("KAFKA_COUNT", "1"), CultureInfo.InvariantCulture);
bool useToken = Setting("KAFKA_CONSUME", "timeout") == "token";
bool close = Setting("KAFKA_END", "close") == "close";
bool commit = Setting("KAFKA_COMMIT", "0") == "1";
string? target = Environment.GetEnvironmentVariable("HTTP_TARGET");
using var http = new HttpClient();

var config = new ConsumerConfig
{
    BootstrapServers = Setting("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
    GroupId = Setting("KAFKA_GROUP", "test-group"),
    AutoOffsetReset = AutoOffsetReset.Earliest,
    EnableAutoCommit = !commit,
    EnablePartitionEof = true,
};

var consumer = new ConsumerBuilder<Ignore, string>(config).Build();
consumer.Subscribe(topic);
using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
int handled = 0;
while (handled < count && !stop.IsCancellationRequested)
{
    ConsumeResult<Ignore, string>? result = useToken ? consumer.Consume(stop.Token) : consumer.Consume(500);
    if (result is null || result.IsPartitionEOF)
    {
        continue;
    }

    handled++;
    if (target is not null)
    {
        using var response = await http.GetAsync(target);
    }

    Console.WriteLine($"consumed {result.Topic} {result.Partition.Value} {result.Offset.Value} headers={string.Join(",", result.Message.Headers.Select(h => h.Key))}");
    if (commit)
    {
        consumer.Commit(result);
    }
}

if (close)
{
    consumer.Close();
}

consumer.Dispose();
Console.WriteLine(handled == count ? "done" : $"stopped after {handled} of {count}");
return handled == count ? 0 : 1;
