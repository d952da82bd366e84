using System.Runtime.InteropServices;
using Confluent.Kafka;

// A Kafka broker for the demo and tests: librdkafka's built-in mock cluster, hosted by a client
// created with test.mock.num.brokers. It lives as long as that client, so this process stays up
// until stdin closes or it receives SIGTERM / Ctrl+C. The only line on stdout is the bootstrap
// address; everything else goes to stderr.
var config = new ProducerConfig(new Dictionary<string, string>
{
    ["test.mock.num.brokers"] = "1",
    ["client.id"] = "kafka-mock-host",
});
using var host = new ProducerBuilder<Null, string>(config).Build();
using var admin = new DependentAdminClientBuilder(host.Handle).Build();

Metadata metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
string bootstrap = string.Join(",", metadata.Brokers.Select(b => $"{b.Host}:{b.Port}"));

foreach (string topic in args.Length > 0 ? args : ["order.created"])
{
    // Asking for a topic's metadata makes the mock cluster create it, with one partition.
    TopicMetadata? created = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.FirstOrDefault();
    Console.Error.WriteLine($"topic {topic}: {created?.Partitions.Count ?? 0} partition(s), {created?.Error.Code}");
}

Console.Out.WriteLine(bootstrap);
Console.Out.Flush();
Console.Error.WriteLine($"kafka mock cluster on {bootstrap}; stop with SIGTERM or by closing stdin");

var stopped = new TaskCompletionSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stopped.TrySetResult();
});
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    stopped.TrySetResult();
});

// stdin redirected from /dev/null is closed from the start: then only a signal stops the mock.
if (!StdinIsDevNull())
{
    _ = Task.Run(() =>
    {
        Console.In.ReadToEnd();
        stopped.TrySetResult();
    });
}

await stopped.Task;
return 0;

static bool StdinIsDevNull()
{
    try
    {
        return new FileInfo("/proc/self/fd/0").ResolveLinkTarget(returnFinalTarget: true)?.FullName == "/dev/null";
    }
    catch (IOException)
    {
        return false;
    }
}
