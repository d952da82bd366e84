using System.Globalization;
using System.Net;
using OpenTelemetry.Proto.Metrics.V1;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.IntegrationTests.Kafka;
using TraceAgent.Otlp.Receiver;
using static TraceAgent.IntegrationTests.Metrics.MetricPoints;

namespace TraceAgent.IntegrationTests.Metrics;

/// <summary>
/// Library metrics against real servers: Npgsql's own meter against PostgreSQL, and, for the
/// libraries with no meter, the operation durations the agent measures from its Redis and Kafka spans.
/// </summary>
public sealed class LibraryMetricsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static Dictionary<string, string?> Environment(OtlpReceiver receiver, string service, params (string Key, string? Value)[] settings) =>
        AgentEnvironment.For(receiver, service).With(("OTEL_METRIC_EXPORT_INTERVAL", "200")).With(settings);

    /// <summary>Starts the Kafka producer app under the agent and has it send three messages to a new topic.</summary>
    private static async Task<(WebApp Producer, string Topic)> ProduceThreeAsync(KafkaMockCluster kafka, OtlpReceiver receiver, string service, params (string Key, string? Value)[] settings)
    {
        var producer = await WebApp.StartAsync("TestApplication.KafkaProducer-v2.16.0", Environment(receiver, service, settings).With(("KAFKA_BOOTSTRAP", kafka.BootstrapServers)));
        try
        {
            var topic = "metrics-" + Guid.NewGuid().ToString("N")[..8];
            kafka.CreateTopic(topic);
            for (var i = 0; i < 3; i++)
            {
                await MetricsTests.GetAsync(producer.BaseUrl + "/produce/async?topic=" + topic);
            }

            return (producer, topic);
        }
        catch
        {
            producer.Dispose();
            throw;
        }
    }

    [Fact]
    public async Task Redis_commands_get_the_database_operation_duration_histogram_from_their_spans()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync("TestApplication.Redis-high", Environment(receiver, "redis-metrics").With(("REDIS", redis.Endpoint)));
        await MetricsTests.GetAsync(app.BaseUrl + "/get-set");
        await MetricsTests.GetAsync(app.BaseUrl + "/get-set");
        await MetricsTests.GetAsync(app.BaseUrl + "/failing");

        var spans = await receiver.WaitForSpansAsync(all => all.Count(s => s.ScopeName == "TraceAgent.StackExchangeRedis") >= 6, Timeout);
        var commands = spans.Where(s => s.ScopeName == "TraceAgent.StackExchangeRedis").ToList();
        bool Of(HistogramDataPoint p, string operation) => (p.Attributes.Attribute("db.operation.name") as string) == operation && p.Attributes.Attribute("error.type") is null;
        var gets = (ulong)commands.Count(s => s.Name == "GET");
        var sets = (ulong)commands.Count(s => s.Name == "SET");
        var metrics = await receiver.WaitForMetricsAsync(
            all => all.LatestCount("db.client.operation.duration", p => Of(p, "GET")) == gets && all.LatestCount("db.client.operation.duration", p => Of(p, "SET")) == sets,
            Timeout);

        var metric = metrics.Named("db.client.operation.duration").Last();
        Assert.Equal("TraceAgent.StackExchangeRedis", metric.ScopeName);
        Assert.Equal("s", metric.Metric.Unit);
        var get = Assert.Single(metric.Metric.Histogram.DataPoints, p => Of(p, "GET"));
        Assert.Equal("redis", get.Attributes.Attribute("db.system.name"));
        Assert.Equal("127.0.0.1", get.Attributes.Attribute("server.address"));
        Assert.Equal((long)redis.Port, get.Attributes.Attribute("server.port"));
        Assert.Equal([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10], get.ExplicitBounds);
        Assert.Null(get.Attributes.Attribute("db.query.text"));

        // The failed command is its own series, marked by its error type, like its span.
        var failedSpan = Assert.Single(commands, s => s.Attribute("error.type") is not null);
        var failed = Assert.Single(metric.Metric.Histogram.DataPoints, p => p.Attributes.Attribute("error.type") is not null);
        Assert.Equal(failedSpan.Attribute("error.type"), failed.Attributes.Attribute("error.type"));
        Assert.Equal(failedSpan.Name, failed.Attributes.Attribute("db.operation.name"));

        var exemplars = metrics.Named("db.client.operation.duration").SelectMany(m => m.Metric.Histogram.DataPoints).SelectMany(p => p.Exemplars).ToList();
        Assert.NotEmpty(exemplars);
        foreach (var exemplar in exemplars)
        {
            var span = Assert.Single(commands, s => s.TraceId == exemplar.TraceId.Hex() && s.SpanId == exemplar.SpanId.Hex());
            Assert.Equal(span.Duration.TotalSeconds, exemplar.AsDouble, 6);
        }
    }

    [Theory]
    [InlineData("OTEL_DOTNET_AUTO_METRICS_STACKEXCHANGEREDIS_INSTRUMENTATION_ENABLED", true)]
    [InlineData("OTEL_DOTNET_AUTO_TRACES_STACKEXCHANGEREDIS_INSTRUMENTATION_ENABLED", false)]
    public async Task Redis_switched_off_makes_no_histogram_and_its_tracing_switch_no_spans_either(string key, bool spans)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync("TestApplication.Redis-high", Environment(receiver, "redis-switched", (key, "false")).With(("REDIS", redis.Endpoint)));
        await MetricsTests.GetAsync(app.BaseUrl + "/get-set");
        await MetricsTests.GetAsync(app.BaseUrl + "/get-set");

        // The first request's commands are measured (and their spans made) as it ends, before the second request ends.
        bool GetSet(HistogramDataPoint p) => Route(p) == "/get-set";
        var metrics = await receiver.WaitForMetricsAsync(all => all.LatestCount("http.server.request.duration", GetSet) == 2, Timeout);
        Assert.Empty(metrics.Named("db.client.operation.duration"));

        var received = await receiver.WaitForSpansAsync(all => all.Count(s => s.Kind == SpanKinds.Server && (s.Attribute("url.path") as string) == "/get-set") == 2, Timeout);
        Assert.Equal(spans, received.Any(s => s.ScopeName == "TraceAgent.StackExchangeRedis"));
    }

    [Fact]
    public async Task Redis_commands_of_unsampled_requests_are_not_counted()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var receiver = await OtlpReceiver.StartAsync();
        using var app = await WebApp.StartAsync("TestApplication.Redis-high", Environment(receiver, "redis-metrics-unsampled").With(("REDIS", redis.Endpoint)));
        using var client = new HttpClient();
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, app.BaseUrl + "/get-set");
            request.Headers.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // A sampled request last: its commands are drained after those of the requests before it.
        await MetricsTests.GetAsync(app.BaseUrl + "/get-set");
        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => s.ScopeName == "TraceAgent.StackExchangeRedis" && s.Name == "GET"), Timeout);
        var gets = (ulong)spans.Count(s => s.ScopeName == "TraceAgent.StackExchangeRedis" && s.Name == "GET");
        bool Get(HistogramDataPoint p) => (p.Attributes.Attribute("db.operation.name") as string) == "GET";
        var metrics = await receiver.WaitForMetricsAsync(all => all.LatestCount("db.client.operation.duration", Get) >= gets, Timeout);
        Assert.Equal(gets, metrics.LatestCount("db.client.operation.duration", Get));
        Assert.DoesNotContain(spans, s => s.TraceId == "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    [Fact]
    public async Task Kafka_sends_and_processed_messages_get_the_messaging_duration_histograms_from_their_spans()
    {
        using var kafka = KafkaMockCluster.Start();
        await using var receiver = await OtlpReceiver.StartAsync();
        var (producer, topic) = await ProduceThreeAsync(kafka, receiver, "kafka-metrics-producer");
        using var producerApp = producer;

        bool ToTopic(HistogramDataPoint p) => (p.Attributes.Attribute("messaging.destination.name") as string) == topic;
        var metrics = await receiver.WaitForMetricsAsync(all => all.LatestCount("messaging.client.operation.duration", ToTopic, "kafka-metrics-producer") == 3, Timeout);
        var send = Assert.Single(metrics.LatestHistogram("messaging.client.operation.duration", ToTopic));
        Assert.Equal("kafka", send.Attributes.Attribute("messaging.system"));
        Assert.Equal("send", send.Attributes.Attribute("messaging.operation.name"));
        Assert.Equal("send", send.Attributes.Attribute("messaging.operation.type"));
        Assert.Equal("TraceAgent.ConfluentKafka", metrics.Named("messaging.client.operation.duration").Last().ScopeName);
        var producerSpans = await receiver.WaitForSpansAsync(all => all.Count(s => s.Kind == SpanKinds.Producer) >= 3, Timeout);
        var sendExemplars = metrics.Named("messaging.client.operation.duration").SelectMany(m => m.Metric.Histogram.DataPoints).Where(ToTopic).SelectMany(p => p.Exemplars).ToList();
        Assert.NotEmpty(sendExemplars);
        Assert.All(sendExemplars, e => Assert.Contains(producerSpans, s => s.Kind == SpanKinds.Producer && s.SpanId == e.SpanId.Hex()));

        await ConsumeThreeAsync(kafka, receiver, producer, topic, "kafka-metrics-consumer");
        var processed = receiver.Metrics.LatestHistogram("messaging.process.duration", ToTopic, "kafka-metrics-consumer");
        var point = Assert.Single(processed);
        Assert.Equal(3UL, point.Count);
        Assert.Equal("process", point.Attributes.Attribute("messaging.operation.name"));
        Assert.Equal("group-" + topic, point.Attributes.Attribute("messaging.consumer.group.name"));
    }

    [Fact]
    public async Task Kafka_metrics_switched_off_make_no_histogram_and_leave_the_spans()
    {
        using var kafka = KafkaMockCluster.Start();
        await using var receiver = await OtlpReceiver.StartAsync();
        var (producer, _) = await ProduceThreeAsync(kafka, receiver, "kafka-metrics-off", ("OTEL_DOTNET_AUTO_METRICS_KAFKA_INSTRUMENTATION_ENABLED", "false"));
        using var producerApp = producer;

        // Each request awaits its delivery, where the send is measured: by the third request's own duration, all three would be.
        var metrics = await receiver.WaitForMetricsAsync(all => all.LatestCount("http.server.request.duration", p => Route(p) == "/produce/async") == 3, Timeout);
        Assert.Empty(metrics.Named("messaging.client.operation.duration"));
        await receiver.WaitForSpansAsync(all => all.Count(s => s.Kind == SpanKinds.Producer) == 3, Timeout);
    }

    [Fact]
    public async Task Kafka_sends_and_processed_messages_of_unsampled_traces_are_measured_too()
    {
        using var kafka = KafkaMockCluster.Start();
        await using var receiver = await OtlpReceiver.StartAsync();
        var (producer, topic) = await ProduceThreeAsync(kafka, receiver, "kafka-metrics-unsampled", ("OTEL_TRACES_SAMPLER", "always_off"));
        using var producerApp = producer;

        // No span is exported, yet every send and every processed message is counted: the spans are
        // made, unrecorded, for the metrics.
        bool ToTopic(HistogramDataPoint p) => (p.Attributes.Attribute("messaging.destination.name") as string) == topic;
        var metrics = await receiver.WaitForMetricsAsync(all => all.LatestCount("messaging.client.operation.duration", ToTopic, "kafka-metrics-unsampled") == 3, Timeout);
        Assert.Single(metrics.LatestHistogram("messaging.client.operation.duration", ToTopic));
        await ConsumeThreeAsync(kafka, receiver, producer, topic, "kafka-metrics-unsampled-consumer", ("OTEL_TRACES_SAMPLER", "always_off"));
        Assert.Equal(3UL, receiver.Metrics.LatestCount("messaging.process.duration", ToTopic, "kafka-metrics-unsampled-consumer"));
        Assert.Empty(receiver.Spans);
    }

    /// <summary>
    /// Runs the Kafka consumer app under the agent over the three messages of <paramref name="topic"/>.
    /// It is a console app that exits once it handled them: its flush at exit sends its metrics.
    /// </summary>
    private static async Task ConsumeThreeAsync(KafkaMockCluster kafka, OtlpReceiver receiver, WebApp producer, string topic, string service, params (string Key, string? Value)[] settings)
    {
        var environment = Environment(receiver, service, settings).With(
            ("KAFKA_BOOTSTRAP", kafka.BootstrapServers),
            ("KAFKA_TOPIC", topic),
            ("KAFKA_GROUP", "group-" + topic),
            ("KAFKA_COUNT", "3"),
            ("HTTP_TARGET", producer.BaseUrl + "/ping"));
        using var consumer = TestProcess.StartDotnet(RepoPaths.TestAppDll("TestApplication.KafkaConsumer-v2.16.0"), environment);
        Assert.True(await consumer.WaitForExitAsync(Timeout) == 0, consumer.Describe("the consumer failed"));
    }

    [Theory]
    [InlineData("low")]
    [InlineData("high")]
    public async Task Npgsql_publishes_its_own_meter_which_its_switch_turns_off(string variant)
    {
        await using var postgres = await PostgresServer.StartAsync();
        await postgres.CreateDatabaseAsync("shop");
        await using var receiver = await OtlpReceiver.StartAsync();
        var connectionString = $"Host=127.0.0.1;Port={postgres.Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Password=s3cr3t-db-password;Database=shop;Pooling=true";
        bool Raw(HistogramDataPoint p) => Route(p) == "/db/raw";

        using (var app = await WebApp.StartAsync("TestApplication.Database-" + variant, Environment(receiver, "npgsql-on").With(("DATABASE_URL", connectionString))))
        {
            await MetricsTests.GetAsync(app.BaseUrl + "/db/raw");
            var metrics = await receiver.WaitForMetricsAsync(all => all.Any(m => m.ScopeName == "Npgsql" && m.Name.StartsWith("db.client.", StringComparison.Ordinal)), Timeout);
            Assert.All(metrics.Where(m => m.ScopeName == "Npgsql"), m => Assert.Equal("npgsql-on", m.ServiceName));
        }

        using var off = await WebApp.StartAsync(
            "TestApplication.Database-" + variant,
            Environment(receiver, "npgsql-off", ("OTEL_DOTNET_AUTO_METRICS_NPGSQL_INSTRUMENTATION_ENABLED", "false")).With(("DATABASE_URL", connectionString)));
        await MetricsTests.GetAsync(off.BaseUrl + "/db/raw");
        var all = await receiver.WaitForMetricsAsync(all => all.LatestCount("http.server.request.duration", Raw, "npgsql-off") == 1, Timeout);
        Assert.DoesNotContain(all, m => m.ServiceName == "npgsql-off" && m.ScopeName == "Npgsql");
    }
}
