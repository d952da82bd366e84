using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.Tests.Export;

/// <summary>
/// The same activities exported twice, over real HTTP into the test receiver (which decodes with
/// the official schema): once through OpenTelemetry.Exporter.OpenTelemetryProtocol (the SDK's
/// exporter, run here in the test process, never in the agent) and once through the agent's
/// encoder and exporter. Every field of every span must decode the same.
/// </summary>
public sealed class DifferentialExportTests : IDisposable
{
    private readonly RecordedSources _recorded = new(new ActivitySource("differential.source", "4.5.6"));

    public void Dispose() => _recorded.Dispose();

    [Fact]
    public async Task The_agent_and_the_OpenTelemetry_SDK_exporter_send_the_same_spans()
    {
        var activities = MakeActivities();

        await using var sdkReceiver = await OtlpReceiver.StartAsync();
        await using var agentReceiver = await OtlpReceiver.StartAsync();

        using (var sdkExporter = new OtlpTraceExporter(new OtlpExporterOptions
        {
            Endpoint = new Uri(sdkReceiver.HttpEndpoint + "/v1/traces"),
            Protocol = OtlpExportProtocol.HttpProtobuf,
        }))
        {
            Assert.Equal(OpenTelemetry.ExportResult.Success, sdkExporter.Export(new Batch<Activity>(activities, activities.Length)));
        }

        var settings = new OtlpExporterSettings(new Uri(agentReceiver.HttpEndpoint + "/v1/traces"), OtlpProtocol.HttpProtobuf, [], 10_000, Gzip: false);
        var encoder = new OtlpTraceEncoder([new("service.name", "differential")], new SpanLimits(128, null, 128, 128, 128, 128));
        using (var agentExporter = new OtlpExporter<Activity>(settings, encoder.Encode, "traces"))
        {
            Assert.Equal(TraceAgent.Export.ExportResult.Success, agentExporter.Export(activities, DateTime.UtcNow.AddSeconds(30), CancellationToken.None));
        }

        var fromSdk = await sdkReceiver.WaitForSpansAsync(s => s.Count >= activities.Length, TimeSpan.FromSeconds(30));
        var fromAgent = await agentReceiver.WaitForSpansAsync(s => s.Count >= activities.Length, TimeSpan.FromSeconds(30));
        Assert.Equal(activities.Length, fromSdk.Count);
        Assert.Equal(activities.Length, fromAgent.Count);

        foreach (var expected in fromSdk)
        {
            var actual = Assert.Single(fromAgent, s => s.SpanId == expected.SpanId);
            Assert.Equal(Describe(expected), Describe(actual));
        }
    }

    private Activity[] MakeActivities()
    {
        var remote = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, "vendor=a,ot=th:0", isRemote: true);
        var server = _recorded.Source.StartActivity("GET /orders/{id}", ActivityKind.Server, remote)!;
        server.SetTag("http.request.method", "GET");
        server.SetTag("http.response.status_code", 200);
        server.SetTag("http.route", "/orders/{id}");
        server.SetTag("ratio", 0.25);
        server.SetTag("flag", true);
        server.SetTag("small", (short)7);
        server.SetTag("strings", new[] { "a", "b", "ü" });
        server.SetTag("longs", new[] { 1L, 2L });
        server.SetTag("doubles", new[] { 0.5, 1.5 });
        server.SetTag("bools", new[] { true, false });
        server.SetTag("empty", string.Empty);
        server.SetTag("unicode", "日本語 😀");

        var client = _recorded.Source.StartActivity("SELECT orders", ActivityKind.Client)!;
        client.SetTag("db.system.name", "postgresql");
        client.SetTag("db.query.text", "SELECT * FROM orders WHERE id = ?");
        client.AddEvent(new ActivityEvent("exception", new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero), new ActivityTagsCollection
        {
            ["exception.type"] = "System.InvalidOperationException",
            ["exception.message"] = "boom",
        }));
        client.SetStatus(ActivityStatusCode.Error, "boom");
        client.Stop();

        var producer = _recorded.Source.StartActivity(
            "send orders",
            ActivityKind.Producer,
            parentContext: default,
            links: [new ActivityLink(new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, "x=1", isRemote: true), new ActivityTagsCollection { ["link.kind"] = "cause" })])!;
        producer.SetStatus(ActivityStatusCode.Ok);
        producer.Stop();

        var internalSpan = _recorded.Source.StartActivity("work")!;
        internalSpan.Stop();
        server.Stop();
        return [server, client, producer, internalSpan];
    }

    // Everything the two exporters are responsible for, in one comparable text.
    private static string Describe(ReceivedSpan span) => string.Join(
        "\n",
        $"trace={span.TraceId} span={span.SpanId} parent={span.ParentSpanId} state={span.TraceState} flags={span.Flags:x}",
        $"name={span.Name} kind={span.Kind} start={span.StartTimeUnixNano} end={span.EndTimeUnixNano}",
        $"status={span.StatusCode} message={span.StatusMessage}",
        $"scope={span.ScopeName} {span.ScopeVersion}",
        $"attributes={Attributes(span.Attributes)} dropped={span.DroppedAttributesCount}",
        $"events={string.Join(";", span.Events.Select(e => $"{e.Name}@{e.TimeUnixNano}:{Attributes(e.Attributes)}"))} dropped={span.DroppedEventsCount}",
        $"links={string.Join(";", span.Links.Select(l => $"{l.TraceId}/{l.SpanId}/{l.TraceState}/{l.Flags:x}:{Attributes(l.Attributes)}"))} dropped={span.DroppedLinksCount}");

    private static string Attributes(IReadOnlyDictionary<string, object?> attributes) =>
        string.Join(",", attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + Value(a.Value)));

    private static string Value(object? value) => value switch
    {
        null => "null",
        string s => "s:" + s,
        long l => "i:" + l.ToString(System.Globalization.CultureInfo.InvariantCulture),
        double d => "d:" + d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        bool b => "b:" + b,
        object?[] array => "[" + string.Join("|", array.Select(Value)) + "]",
        _ => value.GetType().Name + ":" + value,
    };
}
