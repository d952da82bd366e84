using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Kafka;

/// <summary>
/// The Kafka producer web app and console consumer under the agent, against librdkafka's mock
/// cluster, at each supported Confluent.Kafka version (the test apps' variants files).
/// </summary>
public sealed class KafkaTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Versions => new() { "v1.9.3", "v2.14.0", "v2.16.0" };

    /// <summary>Every supported version on .NET 10, and 2.16.0 on .NET 8 and .NET 9 (self-contained apps).</summary>
    public static TheoryData<string> VersionsAndRuntimes => new() { "v1.9.3", "v2.14.0", "v2.16.0", "net8", "net9" };

    private sealed class Setup : IAsyncDisposable
    {
        private readonly List<TestProcess> _consumers = [];

        public required KafkaMockCluster Kafka { get; init; }

        public required OtlpReceiver Receiver { get; init; }

        public required WebApp Producer { get; init; }

        public required string Version { get; init; }

        public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

        public static async Task<Setup> StartAsync(string version, params (string Key, string? Value)[] settings)
        {
            var kafka = KafkaMockCluster.Start();
            var receiver = await OtlpReceiver.StartAsync();
            var environment = AgentEnvironment.For(receiver, "kafka-producer").With(("KAFKA_BOOTSTRAP", kafka.BootstrapServers)).With(settings);
            var producer = await WebApp.StartAsync("TestApplication.KafkaProducer-" + version, environment);
            return new Setup { Kafka = kafka, Receiver = receiver, Producer = producer, Version = version };
        }

        public string NewTopic(string prefix = "orders")
        {
            var topic = prefix + "-" + Guid.NewGuid().ToString("N")[..8];
            Kafka.CreateTopic(topic);
            return topic;
        }

        public async Task<string> GetAsync(string path, params (string Name, string Value)[] headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Producer.BaseUrl + path);
            foreach (var (name, value) in headers)
            {
                request.Headers.Add(name, value);
            }

            using var response = await Client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}\n{Producer.Process.Describe("producer")}");
            return body;
        }

        /// <summary>Runs the consumer app under the agent until it handled <paramref name="count"/> messages.</summary>
        public async Task<TestProcess> ConsumeAsync(string topic, int count, params (string Key, string? Value)[] settings)
        {
            var environment = AgentEnvironment.For(Receiver, "kafka-consumer").With(
                ("KAFKA_BOOTSTRAP", Kafka.BootstrapServers),
                ("KAFKA_TOPIC", topic),
                ("KAFKA_GROUP", "group-" + topic),
                ("KAFKA_COUNT", count.ToString(CultureInfo.InvariantCulture)),
                ("HTTP_TARGET", Producer.BaseUrl + "/ping")).With(settings);
            var process = TestProcess.StartDotnet(RepoPaths.TestAppDll("TestApplication.KafkaConsumer-" + Version), environment);
            _consumers.Add(process);
            int exitCode = await process.WaitForExitAsync(Timeout);
            Assert.True(exitCode == 0, process.Describe("the consumer failed"));
            return process;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var consumer in _consumers)
            {
                consumer.Kill();
                consumer.Dispose();
            }

            Client.Dispose();
            Producer.Dispose();
            await Receiver.DisposeAsync();
            Kafka.Dispose();
        }
    }

    private static bool IsRequest(ReceivedSpan span, string path) =>
        span.Kind == SpanKinds.Server && (span.Attribute("url.path") as string) == path.Split('?')[0];

    private static void AssertSendSpan(ReceivedSpan span, string topic)
    {
        Assert.Equal("send " + topic, span.Name);
        Assert.Equal(SpanKinds.Producer, span.Kind);
        Assert.Equal("TraceAgent.ConfluentKafka", span.ScopeName);
        Assert.Equal("kafka", span.Attribute("messaging.system"));
        Assert.Equal("send", span.Attribute("messaging.operation.type"));
        Assert.Equal("send", span.Attribute("messaging.operation.name"));
        Assert.Equal(topic, span.Attribute("messaging.destination.name"));
        Assert.True(span.Attribute("messaging.destination.partition.id") is string partition && int.Parse(partition, CultureInfo.InvariantCulture) >= 0, $"partition of {span}");
        Assert.True(span.Attribute("messaging.kafka.offset") is long offset && offset >= 0, $"offset of {span}");
        Assert.StartsWith("rdkafka#producer-", span.Attribute("messaging.client.id") as string, StringComparison.Ordinal);
        Assert.NotEqual(2, span.StatusCode);
        AssertNoPayload(span);
    }

    private static void AssertNoPayload(ReceivedSpan span)
    {
        foreach (var value in span.Attributes.Values)
        {
            var text = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
            Assert.DoesNotContain("payload-", text, StringComparison.Ordinal);
        }
    }

    private static string Header(Confluent.Kafka.Headers headers, string name) =>
        Encoding.UTF8.GetString(headers.GetLastBytes(name));

    [Theory]
    [MemberData(nameof(VersionsAndRuntimes))]
    public async Task A_produce_request_and_the_consumer_handling_its_message_are_one_trace(string version)
    {
        await using var setup = await Setup.StartAsync(version);
        var topic = setup.NewTopic();

        // "delivered <topic> <partition> <offset> <status>"
        var delivered = (await setup.GetAsync("/produce/async?topic=" + topic)).Split(' ');
        Assert.Equal(["delivered", topic], delivered[..2]);
        string partition = delivered[2];
        long offset = long.Parse(delivered[3], CultureInfo.InvariantCulture);
        var consumer = await setup.ConsumeAsync(topic, 1);
        Assert.Contains(consumer.StandardOutput, line => line.StartsWith($"consumed {topic} {partition} {offset}", StringComparison.Ordinal));

        var spans = await setup.Receiver.WaitForSpansAsync(
            all => all.Any(s => s.Name == "process " + topic) && all.Any(s => IsRequest(s, "/ping")) && all.Any(s => IsRequest(s, "/produce/async")),
            Timeout);
        var request = spans.Single(s => IsRequest(s, "/produce/async"));
        var send = spans.Single(s => s.Name == "send " + topic);
        var process = spans.Single(s => s.Name == "process " + topic);
        var call = spans.Single(s => s.Kind == SpanKinds.Client && s.ServiceName == "kafka-consumer" && s.ParentSpanId == process.SpanId);
        var ping = spans.Single(s => IsRequest(s, "/ping"));

        AssertSendSpan(send, topic);
        Assert.Equal(partition, send.Attribute("messaging.destination.partition.id"));
        Assert.Equal(offset, send.Attribute("messaging.kafka.offset"));
        Assert.Equal("order-1", send.Attribute("messaging.kafka.message.key"));
        Assert.Equal(request.SpanId, send.ParentSpanId);
        Assert.InRange(send.EndTimeUnixNano, send.StartTimeUnixNano, request.EndTimeUnixNano);

        Assert.Equal(SpanKinds.Consumer, process.Kind);
        Assert.Equal(send.TraceId, process.TraceId);
        Assert.Equal(send.SpanId, process.ParentSpanId);
        var link = Assert.Single(process.Links);
        Assert.Equal(send.SpanId, link.SpanId);
        Assert.Equal("kafka", process.Attribute("messaging.system"));
        Assert.Equal("process", process.Attribute("messaging.operation.type"));
        Assert.Equal("process", process.Attribute("messaging.operation.name"));
        Assert.Equal(topic, process.Attribute("messaging.destination.name"));
        Assert.Equal(partition, process.Attribute("messaging.destination.partition.id"));
        Assert.Equal(offset, process.Attribute("messaging.kafka.offset"));
        Assert.Equal("order-1", process.Attribute("messaging.kafka.message.key"));
        Assert.Equal("group-" + topic, process.Attribute("messaging.consumer.group.name"));
        Assert.StartsWith("rdkafka#consumer-", process.Attribute("messaging.client.id") as string, StringComparison.Ordinal);
        AssertNoPayload(process);

        // The app's HTTP call runs under the consumer span, and continues the same trace.
        Assert.Equal(process.TraceId, call.TraceId);
        Assert.Equal(call.SpanId, ping.ParentSpanId);
        Assert.Equal(process.TraceId, ping.TraceId);

        // The consumer span ends at the next Consume (or Close), after the handling it covers.
        Assert.True(process.EndTimeUnixNano >= call.EndTimeUnixNano, "the consumer span ended before the handling did");
    }

    [Fact]
    public async Task A_message_produced_in_an_unsampled_request_carries_its_context_unsampled_and_the_consumer_drops_it()
    {
        // Metrics off: no send span is made at all (with metrics on it is made, unrecorded, for the
        // duration histogram), so what the message carries is the request's own context.
        await using var setup = await Setup.StartAsync("v2.16.0", ("OTEL_METRICS_EXPORTER", "none"));
        var topic = setup.NewTopic();
        const string Unsampled = "4bf92f3577b34da6a3ce929d0e0e4736";
        const string Caller = "00f067aa0ba902b7";

        await setup.GetAsync("/produce/async?topic=" + topic, ("traceparent", $"00-{Unsampled}-{Caller}-00"));
        await setup.GetAsync("/produce/nullkey?topic=" + topic);
        await setup.ConsumeAsync(topic, 2);

        // The message carries the unsampled request's context, so the consumer (parent-based) drops
        // its part too. Had the message gone without a traceparent, the consumer would have
        // started a sampled trace of its own.
        var spans = await setup.Receiver.WaitForSpansAsync(all => all.Any(s => s.Name == "send " + topic) && all.Any(s => s.Name == "process " + topic), Timeout);
        Assert.DoesNotContain(spans, s => s.TraceId == Unsampled);
        var send = Assert.Single(spans, s => s.Name == "send " + topic);
        var process = Assert.Single(spans, s => s.Name == "process " + topic);
        Assert.Equal(send.SpanId, process.ParentSpanId);

        var message = setup.Kafka.Read(topic, 2, Timeout).Single(m => m.Message.Key is not null).Message;
        var traceparent = Header(message.Headers, "traceparent").Split('-');
        Assert.Equal(["00", Unsampled], traceparent[..2]);
        Assert.NotEqual(Caller, traceparent[2]);
        Assert.Equal("00", traceparent[3]);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Every_produce_form_makes_one_send_span_that_ends_with_its_delivery(string version)
    {
        await using var setup = await Setup.StartAsync(version);
        var topic = setup.NewTopic();
        string[] forms = ["async", "partition", "handler", "handler-partition", "nohandler", "intkey", "nullkey", "tombstone"];
        foreach (var form in forms)
        {
            await setup.GetAsync($"/produce/{form}?topic={topic}");
        }

        var spans = await setup.Receiver.WaitForSpansAsync(
            all => forms.All(form => all.Any(s => IsRequest(s, "/produce/" + form))) && all.Count(s => s.Name == "send " + topic) >= forms.Length,
            Timeout);
        var positions = new HashSet<(string, long)>();
        foreach (var form in forms)
        {
            var request = spans.Single(s => IsRequest(s, "/produce/" + form));
            var send = Assert.Single(spans, s => s.ParentSpanId == request.SpanId && s.Kind == SpanKinds.Producer);
            AssertSendSpan(send, topic);
            Assert.True(positions.Add(((string)send.Attribute("messaging.destination.partition.id")!, (long)send.Attribute("messaging.kafka.offset")!)), $"{form}: position seen twice");
            object? key = send.Attribute("messaging.kafka.message.key");
            switch (form)
            {
                case "intkey":
                case "nullkey":
                    Assert.Null(key);
                    break;
                default:
                    Assert.StartsWith("order-", key as string, StringComparison.Ordinal);
                    break;
            }

            Assert.Equal(form == "tombstone" ? true : null, send.Attribute("messaging.kafka.message.tombstone"));
        }

        Assert.Equal(forms.Length, positions.Count);
        Assert.Equal(forms.Length, spans.Count(s => s.Name == "send " + topic));
    }

    /// <summary>
    /// With OTLP as the only exporter the send span is written with no Activity; with another
    /// exporter beside it, it is an Activity. The collector sees the same span either way, for a
    /// message produced in a request and for one produced with no span current (a root).
    /// </summary>
    [Fact]
    public async Task A_send_span_arrives_the_same_whether_or_not_it_was_an_Activity()
    {
        var seen = new List<(string Form, string Span)>();
        foreach (var exporters in new[] { "otlp", "otlp,console" })
        {
            await using var setup = await Setup.StartAsync("v2.16.0", ("OTEL_TRACES_EXPORTER", exporters));
            var topic = setup.NewTopic();
            var delivered = new Dictionary<string, string[]>();
            foreach (var form in new[] { "async", "background" })
            {
                delivered[form] = (await setup.GetAsync($"/produce/{form}?topic={topic}")).Split(' ');
            }

            var spans = await setup.Receiver.WaitForSpansAsync(
                all => all.Count(s => s.Name == "send " + topic) >= 2 && all.Any(s => IsRequest(s, "/produce/background")),
                Timeout);
            var messages = setup.Kafka.Read(topic, 2, Timeout);
            foreach (var form in new[] { "async", "background" })
            {
                var request = spans.Single(s => IsRequest(s, "/produce/" + form));
                var send = form == "async"
                    ? Assert.Single(spans, s => s.Name == "send " + topic && s.ParentSpanId == request.SpanId)
                    : Assert.Single(spans, s => s.Name == "send " + topic && s.IsRoot);
                AssertSendSpan(send, topic);
                Assert.Equal(delivered[form][2], send.Attribute("messaging.destination.partition.id"));
                Assert.Equal(long.Parse(delivered[form][3], CultureInfo.InvariantCulture), send.Attribute("messaging.kafka.offset"));
                Assert.InRange(send.EndTimeUnixNano, send.StartTimeUnixNano, request.EndTimeUnixNano);

                // In the request's trace, or a new one: either way the message carries the span's own
                // context, with the random-trace-id flag of a runtime-made trace id (W3C level 2).
                Assert.Equal(form == "async", send.TraceId == request.TraceId);
                var message = messages.Single(m => Header(m.Message.Headers, "traceparent").Contains(send.SpanId, StringComparison.Ordinal)).Message;
                Assert.Equal($"00-{send.TraceId}-{send.SpanId}-03", Header(message.Headers, "traceparent"));
                Assert.Equal(0x103u, send.Flags);
                seen.Add((form, $"{send.Kind} {send.ScopeName} {send.TraceState} {send.StatusCode} {send.DroppedAttributesCount} " +
                    string.Join(",", send.Attributes.Where(a => a.Key is not ("messaging.destination.partition.id" or "messaging.kafka.offset")).OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + a.Value?.ToString()?.Replace(topic, "{topic}", StringComparison.Ordinal)))));
            }
        }

        // Direct (the first set-up) and through an Activity (the second), form by form.
        Assert.Equal(4, seen.Count);
        Assert.Equal(seen[0], seen[2]);
        Assert.Equal(seen[1], seen[3]);
    }

    [Theory]
    [MemberData(nameof(VersionsAndRuntimes))]
    public async Task The_shims_run_precompiled_in_the_producer_and_the_consumer(string version)
    {
        var producerJit = Path.Combine(Path.GetTempPath(), "traceagent-jit-" + Guid.NewGuid().ToString("N") + ".txt");
        var consumerJit = Path.Combine(Path.GetTempPath(), "traceagent-jit-" + Guid.NewGuid().ToString("N") + ".txt");
        try
        {
            await using var setup = await Setup.StartAsync(version, ("DOTNET_JitDisasmSummary", "1"), ("DOTNET_JitStdOutFile", producerJit));
            var topic = setup.NewTopic();
            for (var i = 0; i < 5; i++)
            {
                Assert.StartsWith("delivered " + topic, await setup.GetAsync("/produce/async?topic=" + topic), StringComparison.Ordinal);
            }

            Assert.StartsWith("failed MsgSizeTooLarge: ", await setup.GetAsync("/produce/too-large?topic=" + topic), StringComparison.Ordinal);
            await setup.ConsumeAsync(topic, 5, ("DOTNET_JitDisasmSummary", "1"), ("DOTNET_JitStdOutFile", consumerJit));
            await setup.Receiver.WaitForSpansAsync(all => all.Count(s => s.Name == "process " + topic) >= 5 && all.Count(s => s.Name == "send " + topic) >= 6, Timeout);
            using (var term = System.Diagnostics.Process.Start("kill", ["-TERM", setup.Producer.Process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            await setup.Producer.Process.WaitForExitAsync(Timeout);

            // Produce, the delivery report, poll and the instrumentation's start ran from their
            // ReadyToRun code: a method that touches Confluent's ErrorCode enum, or calls one of its
            // methods whose precompiled call the runtime refuses (Library.Load), is JIT-compiled at
            // tier 0 instead, and a class with a field of a delegate type over ErrorCode loses the
            // precompiled code of all its methods. Only the small shims that must name ErrorCode are left.
            foreach (var log in new[] { producerJit, consumerJit })
            {
                var lines = File.ReadAllLines(log);
                Assert.Contains(lines, l => l.Contains("JIT compiled ", StringComparison.Ordinal));
                var jitted = lines.Where(l => l.Contains("TraceAgent.", StringComparison.Ordinal) && l.Contains("Tier0", StringComparison.Ordinal)).ToList();
                Assert.All(jitted, l => Assert.Matches(@"TraceAgent\.Instrumentation\.ConfluentKafka\.(ErrorCodeShims:\w+|KafkaInstrumentation:LoadLibrary)\(", l));
            }

            // The produce shim calls rd_kafka_produceva at its address: the shim Confluent calls is
            // emitted (it takes an rd_kafka_vu*), but no method is emitted to call Confluent's import.
            var produced = File.ReadAllLines(producerJit);
            Assert.Contains(produced, l => l.Contains("TraceAgentKafka_Produce(", StringComparison.Ordinal));
            Assert.DoesNotContain(produced, l => Regex.IsMatch(l, @"TraceAgentKafka_Invoke\([^,]+,nint,nint,nint\)"));
        }
        finally
        {
            File.Delete(producerJit);
            File.Delete(consumerJit);
        }
    }

    [Theory]
    [MemberData(nameof(VersionsAndRuntimes))]
    public async Task A_failed_produce_ends_its_span_with_an_error_and_the_app_sees_the_same_exception(string version)
    {
        await using var setup = await Setup.StartAsync(version);
        var topic = setup.NewTopic();

        var tooLarge = await setup.GetAsync("/produce/too-large?topic=" + topic);
        var badPartition = await setup.GetAsync("/produce/bad-partition?topic=" + topic);
        Assert.StartsWith("failed MsgSizeTooLarge: ", tooLarge, StringComparison.Ordinal);
        Assert.StartsWith("failed Local_UnknownPartition: ", badPartition, StringComparison.Ordinal);

        // The app sees the same exception (type, text, delivery status) as the same app without the agent.
        using (var plain = await WebApp.StartAsync("TestApplication.KafkaProducer-" + version, new Dictionary<string, string?> { ["KAFKA_BOOTSTRAP"] = setup.Kafka.BootstrapServers, ["ASPNETCORE_ENVIRONMENT"] = "Production" }))
        using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            Assert.Equal(tooLarge, await client.GetStringAsync(plain.BaseUrl + "/produce/too-large?topic=" + topic));
            Assert.Equal(badPartition, await client.GetStringAsync(plain.BaseUrl + "/produce/bad-partition?topic=" + topic));
        }

        // error.type is the name of the Confluent ErrorCode the app's exception carries.
        (string Path, string Code)[] failures = [("/produce/too-large", "MsgSizeTooLarge"), ("/produce/bad-partition", "Local_UnknownPartition")];
        var spans = await setup.Receiver.WaitForSpansAsync(
            all => all.Count(s => s.Name == "send " + topic) >= 2 && failures.All(f => all.Any(s => IsRequest(s, f.Path))),
            Timeout);
        foreach (var (path, code) in failures)
        {
            var request = spans.Single(s => IsRequest(s, path));
            var send = Assert.Single(spans, s => s.ParentSpanId == request.SpanId && s.Kind == SpanKinds.Producer);
            Assert.Equal(2, send.StatusCode);
            Assert.Equal(code, send.Attribute("error.type"));
            Assert.Null(send.Attribute("messaging.kafka.offset"));
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Headers_on_the_wire_are_the_apps_own_plus_one_of_each_propagation_header(string version)
    {
        await using var setup = await Setup.StartAsync(version, ("OTEL_PROPAGATORS", "tracecontext,baggage"));
        var topic = setup.NewTopic();

        // The app sees its Headers object and its delivery result exactly as without the agent.
        var body = await setup.GetAsync("/produce/headers?topic=" + topic);
        Assert.Contains("app-headers=app-header,traceparent,app-second result-headers=app-header,traceparent,app-second", body, StringComparison.Ordinal);
        await setup.GetAsync("/produce/async?topic=" + topic);

        var spans = await setup.Receiver.WaitForSpansAsync(
            all => all.Count(s => s.Name == "send " + topic) >= 2 && all.Any(s => IsRequest(s, "/produce/headers")),
            Timeout);
        var messages = setup.Kafka.Read(topic, 2, Timeout);

        // The app's traceparent is replaced by the agent's; its other headers stay, in order.
        var withAppHeaders = messages.Single(m => Encoding.UTF8.GetString(m.Message.Key!) == "order-7").Message.Headers;
        Assert.Equal(["app-header", "app-second", "traceparent"], withAppHeaders.Select(h => h.Key));
        Assert.Equal("one", Header(withAppHeaders, "app-header"));
        Assert.Equal("two", Header(withAppHeaders, "app-second"));
        // The other request's server span may not have arrived yet: match on the parent that has.
        var send = spans.Single(s => s.Name == "send " + topic && spans.Any(r => r.SpanId == s.ParentSpanId && IsRequest(r, "/produce/headers")));
        // Sampled, and (W3C Level 2) random: the trace started in the app, with a random trace id.
        Assert.Equal($"00-{send.TraceId}-{send.SpanId}-03", Header(withAppHeaders, "traceparent"));

        // Without headers of its own the message gets just the agent's.
        var plain = messages.Single(m => Encoding.UTF8.GetString(m.Message.Key!) == "order-1").Message.Headers;
        Assert.Equal(["traceparent"], plain.Select(h => h.Key));
    }

    /// <summary>
    /// OTEL_PROPAGATORS applies to Kafka headers as to HTTP: with B3 the message carries the B3
    /// header(s) and no traceparent, and a consumer with the same setting continues the trace.
    /// </summary>
    [Theory]
    [InlineData("v2.16.0", "b3multi")]
    [InlineData("v1.9.3", "b3")]
    public async Task With_b3_propagators_the_message_carries_b3_headers_and_the_consumer_continues_the_trace(string version, string propagator)
    {
        await using var setup = await Setup.StartAsync(version, ("OTEL_PROPAGATORS", propagator));
        var topic = setup.NewTopic();
        await setup.GetAsync("/produce/async?topic=" + topic);
        await setup.ConsumeAsync(topic, 1, ("OTEL_PROPAGATORS", propagator));

        var spans = await setup.Receiver.WaitForSpansAsync(all => all.Any(s => s.Name == "process " + topic) && all.Any(s => s.Name == "send " + topic), Timeout);
        var send = spans.Single(s => s.Name == "send " + topic);
        var process = spans.Single(s => s.Name == "process " + topic);
        Assert.Equal(send.TraceId, process.TraceId);
        Assert.Equal(send.SpanId, process.ParentSpanId);

        var headers = Assert.Single(setup.Kafka.Read(topic, 1, Timeout)).Message.Headers;
        string Named(string name) => Encoding.UTF8.GetString(Assert.Single(headers, h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).GetValueBytes());
        Assert.DoesNotContain(headers, h => h.Key == "traceparent");
        if (propagator == "b3")
        {
            Assert.Equal(["b3"], headers.Select(h => h.Key));
            Assert.Equal($"{send.TraceId}-{send.SpanId}-1", Named("b3"));
        }
        else
        {
            Assert.Equal(3, headers.Count);
            Assert.Equal(send.TraceId, Named("X-B3-TraceId"));
            Assert.Equal(send.SpanId, Named("X-B3-SpanId"));
            Assert.Equal("1", Named("X-B3-Sampled"));
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task In_link_mode_each_message_starts_a_new_trace_linked_to_the_producer(string version)
    {
        await using var setup = await Setup.StartAsync(version);
        var topic = setup.NewTopic();
        await setup.GetAsync("/produce/async?topic=" + topic);
        await setup.GetAsync("/produce/nullkey?topic=" + topic);

        // Consume(CancellationToken), Commit after each message, and Dispose without Close.
        await setup.ConsumeAsync(
            topic,
            2,
            ("TRACEAGENT_KAFKA_CONSUMER_MODE", "link"),
            ("KAFKA_CONSUME", "token"),
            ("KAFKA_COMMIT", "1"),
            ("KAFKA_END", "dispose"));

        var spans = await setup.Receiver.WaitForSpansAsync(all => all.Count(s => s.Name == "process " + topic) >= 2 && all.Count(s => s.Name == "send " + topic) >= 2, Timeout);
        var sends = spans.Where(s => s.Name == "send " + topic).ToList();
        var processes = spans.Where(s => s.Name == "process " + topic).ToList();
        Assert.Equal(2, processes.Count);
        foreach (var process in processes)
        {
            Assert.True(process.IsRoot, $"{process} has a parent");
            var link = Assert.Single(process.Links);
            var send = Assert.Single(sends, s => s.SpanId == link.SpanId);
            Assert.Equal(send.TraceId, link.TraceId);
            Assert.NotEqual(send.TraceId, process.TraceId);
            Assert.Contains(spans, s => s.Kind == SpanKinds.Client && s.ParentSpanId == process.SpanId && s.TraceId == process.TraceId);
        }

        Assert.NotEqual(processes[0].TraceId, processes[1].TraceId);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task An_excluded_topic_gets_no_span_and_no_headers(string version)
    {
        await using var setup = await Setup.StartAsync(version, ("TRACEAGENT_KAFKA_EXCLUDED_TOPICS", "secret-*"));
        var secret = setup.NewTopic("secret");
        var open = setup.NewTopic("open");

        await setup.GetAsync("/produce/async?topic=" + secret);
        await setup.GetAsync("/produce/async?topic=" + open);
        await setup.ConsumeAsync(secret, 1, ("TRACEAGENT_KAFKA_EXCLUDED_TOPICS", "secret-*"));

        // Both requests and the consumer's HTTP call exported: whatever the secret topic made is in.
        var spans = await setup.Receiver.WaitForSpansAsync(
            all => all.Any(s => s.Name == "send " + open) && all.Count(s => IsRequest(s, "/produce/async")) >= 2 && all.Any(s => s.ServiceName == "kafka-consumer" && s.Kind == SpanKinds.Client),
            Timeout);
        Assert.True(!spans.Any(s => s.Name.EndsWith(secret, StringComparison.Ordinal)), string.Join("\n", spans));
        Assert.Empty(setup.Kafka.Read(secret, 1, Timeout)[0].Message.Headers ?? []);
        Assert.Equal(["traceparent"], setup.Kafka.Read(open, 1, Timeout)[0].Message.Headers.Select(h => h.Key));
    }
    [Fact]
    public async Task Trace_state_and_baggage_travel_in_the_message_and_the_consumer_passes_the_baggage_on()
    {
        await using var setup = await Setup.StartAsync("v2.16.0");
        var topic = setup.NewTopic();
        const string TraceId = "6bf92f3577b34da6a3ce929d0e0e4736";
        await setup.GetAsync("/produce/async?topic=" + topic, ("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01"), ("tracestate", "vendor=value"), ("baggage", "tier=gold"));

        var headers = setup.Kafka.Read(topic, 1, Timeout)[0].Message.Headers;
        Assert.Equal(["baggage", "traceparent", "tracestate"], headers.Select(h => h.Key).Order(StringComparer.Ordinal));
        Assert.StartsWith($"00-{TraceId}-", Header(headers, "traceparent"), StringComparison.Ordinal);
        Assert.Equal("vendor=value", Header(headers, "tracestate"));
        Assert.Equal("tier=gold", Header(headers, "baggage"));

        // The consumer's call made while handling the message carries the message's baggage, from its span.
        using var target = new OneCallServer(204);
        await setup.ConsumeAsync(topic, 1, ("HTTP_TARGET", target.Url));
        var called = await target.Called.WaitAsync(Timeout);
        Assert.StartsWith($"00-{TraceId}-", called["traceparent"], StringComparison.Ordinal);
        Assert.Equal("tier=gold", called["baggage"]);
    }

    [Fact]
    public async Task At_ratio_0_a_consumers_failure_keeps_the_consumers_part_only()
    {
        (string Key, string? Value)[] keep =
        [
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
            ("TRACEAGENT_SAMPLER_KEEP_ERRORS", "true"),
        ];
        await using var setup = await Setup.StartAsync("v2.16.0", keep);
        var topic = setup.NewTopic();
        await setup.GetAsync("/produce/async?topic=" + topic);
        var sent = Header(setup.Kafka.Read(topic, 1, Timeout)[0].Message.Headers, "traceparent").Split('-');

        // Handling the message fails: the consumer's call answers 500.
        using var target = new OneCallServer(500);
        await setup.ConsumeAsync(topic, 1, [.. keep, ("HTTP_TARGET", target.Url)]);
        await target.Called.WaitAsync(Timeout);

        // A request sampled upstream last, in the producer: what its earlier request kept has arrived by then.
        await setup.GetAsync("/ping", ("traceparent", TraceParents.NewSampled()));
        var spans = await setup.Receiver.WaitForSpansAsync(
            all => all.Any(s => s.ServiceName == "kafka-consumer" && s.Kind == SpanKinds.Client) && all.Any(s => IsRequest(s, "/ping")),
            Timeout);

        var process = Assert.Single(spans, s => s.ServiceName == "kafka-consumer" && s.Kind == SpanKinds.Consumer);
        var call = Assert.Single(spans, s => s.ServiceName == "kafka-consumer" && s.Kind == SpanKinds.Client);
        Assert.Equal("error", process.Attribute("traceagent.sampling.reason"));
        Assert.Equal(2, call.StatusCode);
        Assert.Equal(process.SpanId, call.ParentSpanId);

        // Its parent is the producer's span, which was dropped with the producer's request long before.
        Assert.Equal((sent[1], sent[2]), (process.TraceId, process.ParentSpanId));
        Assert.DoesNotContain(spans, s => s.ServiceName == "kafka-producer" && s.TraceId == process.TraceId);
    }

    [Fact]
    public async Task Sampling_rules_decide_a_consumer_root_by_its_topic()
    {
        await using var setup = await Setup.StartAsync("v2.16.0");
        var payments = setup.NewTopic("payments");
        var audit = setup.NewTopic("audit");

        // Messages with no context: each consumer span is a root, which the rules decide by topic.
        setup.Kafka.Produce(payments, "payload-1");
        setup.Kafka.Produce(audit, "payload-2");
        (string Key, string? Value)[] rules =
        [
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
            ("TRACEAGENT_SAMPLER_RULES", "payments-*=1,*=0"),
        ];

        // One after the other: each consumer flushes at its exit, so the first one's spans are all in once it exited.
        await setup.ConsumeAsync(audit, 1, rules);
        await setup.ConsumeAsync(payments, 1, rules);
        var spans = await setup.Receiver.WaitForSpansAsync(all => all.Any(s => s.ServiceName == "kafka-consumer" && s.Kind == SpanKinds.Client), Timeout);

        var process = Assert.Single(spans, s => s.ServiceName == "kafka-consumer" && s.Kind == SpanKinds.Consumer);
        Assert.Equal("process " + payments, process.Name);
        Assert.True(process.IsRoot);
        Assert.Equal("rule", process.Attribute("traceagent.sampling.reason"));
        var call = Assert.Single(spans, s => s.ServiceName == "kafka-consumer" && s.Kind == SpanKinds.Client);
        Assert.Equal(process.SpanId, call.ParentSpanId);
        Assert.DoesNotContain(spans, s => s.Name.Contains(audit, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_delivery_reports_the_send_span_ends_when_the_message_is_queued()
    {
        // (Confluent.Kafka refuses delivery.report.only.error at Build: delivery reports on or off are the two cases.)
        await using var setup = await Setup.StartAsync("v2.16.0", ("KAFKA_PRODUCER_CONFIG", "dotnet.producer.enable.delivery.reports=false"));
        var topic = setup.NewTopic();
        Assert.Equal("flushed 0", await setup.GetAsync("/produce/nohandler?topic=" + topic));

        var spans = await setup.Receiver.WaitForSpansAsync(all => all.Any(s => s.Name == "send " + topic) && all.Any(s => IsRequest(s, "/produce/nohandler")), Timeout);
        var request = spans.Single(s => IsRequest(s, "/produce/nohandler"));
        var send = Assert.Single(spans, s => s.Name == "send " + topic);
        Assert.Equal(request.SpanId, send.ParentSpanId);

        // No report: no partition or offset, no status; the message still carries the span's context.
        Assert.Null(send.Attribute("messaging.kafka.offset"));
        Assert.Null(send.Attribute("messaging.destination.partition.id"));
        Assert.Equal(0, send.StatusCode);
        Assert.True(send.EndTimeUnixNano <= request.EndTimeUnixNano);
        var headers = setup.Kafka.Read(topic, 1, Timeout)[0].Message.Headers;
        Assert.StartsWith($"00-{send.TraceId}-{send.SpanId}-", Header(headers, "traceparent"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_longer_than_256_bytes_or_with_a_control_character_is_not_recorded()
    {
        await using var setup = await Setup.StartAsync("v2.16.0");
        var topic = setup.NewTopic();
        Assert.StartsWith("delivered", await setup.GetAsync("/produce/odd-keys?topic=" + topic), StringComparison.Ordinal);
        await setup.GetAsync("/produce/async?topic=" + topic);

        var spans = await setup.Receiver.WaitForSpansAsync(all => all.Count(s => s.Name == "send " + topic) >= 3, Timeout);
        var sends = spans.Where(s => s.Name == "send " + topic).ToList();
        var odd = spans.Single(s => IsRequest(s, "/produce/odd-keys"));
        Assert.Equal(2, sends.Count(s => s.ParentSpanId == odd.SpanId));
        Assert.All(sends.Where(s => s.ParentSpanId == odd.SpanId), s => Assert.Null(s.Attribute("messaging.kafka.message.key")));

        // A plain key is recorded (the same producer, the same topic).
        Assert.Single(sends, s => (s.Attribute("messaging.kafka.message.key") as string) == "order-1");
    }

    [Fact]
    public async Task A_send_span_whose_delivery_report_never_comes_ends_when_the_producer_is_disposed()
    {
        await using var setup = await Setup.StartAsync("v2.16.0");
        var topic = setup.NewTopic();
        Assert.Equal("produced", await setup.GetAsync("/produce/unpolled?topic=" + topic));

        // The broker has the message; its delivery report waits, unpolled, in the producer.
        var headers = setup.Kafka.Read(topic, 1, Timeout)[0].Message.Headers;
        Assert.Equal("disposed", await setup.GetAsync("/produce/unpolled/dispose"));

        var spans = await setup.Receiver.WaitForSpansAsync(all => all.Any(s => s.Name == "send " + topic) && all.Any(s => IsRequest(s, "/produce/unpolled/dispose")), Timeout);
        var request = spans.Single(s => IsRequest(s, "/produce/unpolled"));
        var dispose = spans.Single(s => IsRequest(s, "/produce/unpolled/dispose"));
        var send = Assert.Single(spans, s => s.Name == "send " + topic);
        Assert.Equal(request.SpanId, send.ParentSpanId);
        Assert.StartsWith($"00-{send.TraceId}-{send.SpanId}-", Header(headers, "traceparent"), StringComparison.Ordinal);

        // Ended by the disposal (during the request that disposed of the producer), with no
        // delivery status: no partition or offset, no error.
        Assert.InRange(send.EndTimeUnixNano, dispose.StartTimeUnixNano, dispose.EndTimeUnixNano);
        Assert.Null(send.Attribute("messaging.kafka.offset"));
        Assert.Null(send.Attribute("messaging.destination.partition.id"));
        Assert.Equal(0, send.StatusCode);
    }

    [Fact]
    public async Task Switching_Kafka_off_makes_no_span_and_injects_no_header_while_the_rest_is_traced()
    {
        const string Off = "OTEL_DOTNET_AUTO_TRACES_KAFKA_INSTRUMENTATION_ENABLED";
        await using var setup = await Setup.StartAsync("v2.16.0", (Off, "false"));
        var topic = setup.NewTopic();

        await setup.GetAsync("/produce/async?topic=" + topic);
        await setup.ConsumeAsync(topic, 1, (Off, "false"));

        // The request and the consumer's HTTP call (made while handling the message) exported: whatever Kafka made is in.
        var spans = await setup.Receiver.WaitForSpansAsync(
            all => all.Any(s => IsRequest(s, "/produce/async")) && all.Any(s => s.ServiceName == "kafka-consumer" && s.Kind == SpanKinds.Client),
            Timeout);
        Assert.True(!spans.Any(s => s.ScopeName == "TraceAgent.ConfluentKafka"), string.Join("\n", spans));
        Assert.Empty(setup.Kafka.Read(topic, 1, Timeout)[0].Message.Headers ?? []);

        // With no consumer span around it, the consumer's call starts a trace of its own.
        Assert.True(spans.Single(s => s.ServiceName == "kafka-consumer" && s.Kind == SpanKinds.Client).IsRoot);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Hostile_headers_are_ignored_as_the_specs_say_and_the_consumer_is_unaffected(string version)
    {
        await using var setup = await Setup.StartAsync(version);
        var topic = setup.NewTopic("hostile");
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        const string ParentId = "00f067aa0ba902b7";
        var valid = Encoding.ASCII.GetBytes($"00-{TraceId}-{ParentId}-01");
        var oversizedBaggage = Encoding.ASCII.GetBytes(string.Join(",", Enumerable.Range(0, 5000).Select(i => $"k{i}=v{i}")));
        (string Name, byte[] Value)[][] messages =
        [
            [("traceparent", [0xff, 0xfe, 0x00, 0xc3, 0x28])],
            [("traceparent", new byte[100_000])],
            [("traceparent", valid), ("traceparent", Encoding.ASCII.GetBytes($"00-{TraceId}-b7ad6b7169203331-01"))],
            [("traceparent", Encoding.ASCII.GetBytes($"00-{TraceId.ToUpperInvariant()}-{ParentId}-01"))],
            [("traceparent", Encoding.ASCII.GetBytes("ff-" + TraceId + "-" + ParentId + "-01"))],
            [("tracestate", [0x80, 0x81]), ("baggage", oversizedBaggage)],
            [("traceparent", valid), ("tracestate", Encoding.ASCII.GetBytes("vendor=ok")), ("baggage", [0xff, 0x3d, 0xfe])],
        ];

        // Written by an uninstrumented producer in the test process: exactly these bytes reach the consumer.
        using (var producer = new Confluent.Kafka.ProducerBuilder<Confluent.Kafka.Null, string>(new Confluent.Kafka.ProducerConfig { BootstrapServers = setup.Kafka.BootstrapServers }).Build())
        {
            foreach (var headers in messages)
            {
                var message = new Confluent.Kafka.Message<Confluent.Kafka.Null, string> { Value = "payload", Headers = [] };
                foreach (var (name, value) in headers)
                {
                    message.Headers.Add(name, value);
                }

                await producer.ProduceAsync(topic, message);
            }
        }

        var consumer = await setup.ConsumeAsync(topic, messages.Length);
        Assert.Equal(messages.Length, consumer.StandardOutput.Count(l => l.StartsWith("consumed " + topic, StringComparison.Ordinal)));
        var spans = await setup.Receiver.WaitForSpansAsync(all => all.Count(s => s.Kind == SpanKinds.Consumer) >= messages.Length, Timeout);
        var process = spans.Where(s => s.Kind == SpanKinds.Consumer).ToList();
        Assert.Equal(messages.Length, process.Count);

        // Kafka headers may repeat, and as with Confluent's Headers.GetLastBytes the last one wins:
        // the message with two traceparent headers continues from the second. The last message's
        // single valid traceparent continues its trace with its trace state; every other context is
        // invalid by W3C Trace Context (bad bytes, oversized, upper-case hex, version ff, none at
        // all) and the span starts a new trace, with no link.
        var continued = process.Where(s => s.TraceId == TraceId).ToList();
        Assert.Equal(2, continued.Count);
        var single = Assert.Single(continued, s => s.ParentSpanId == ParentId);
        Assert.Equal("vendor=ok", single.TraceState);
        Assert.Single(continued, s => s.ParentSpanId == "b7ad6b7169203331");
        Assert.All(process.Where(s => s.TraceId != TraceId), s =>
        {
            Assert.True(s.IsRoot);
            Assert.Empty(s.Links);
        });
        Assert.DoesNotContain(process, s => s.Attributes.Values.Any(v => v is string text && text.Contains("payload", StringComparison.Ordinal)));
    }
}
