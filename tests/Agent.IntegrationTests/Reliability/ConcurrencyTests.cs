using System.Globalization;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;
using Xunit.Abstractions;

namespace TraceAgent.IntegrationTests.Reliability;

/// <summary>
/// Many requests in flight at once through front -> HttpClient -> back: every trace must come
/// out whole and correctly parented, with nothing of one request in another's trace.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class ConcurrencyTests(ITestOutputHelper output)
{
    private const string App = "TestApplication.Web";
    private const int Requests = 1000;
    private const int Concurrency = 200;
    private const int FirstId = 100_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Parallel_front_to_back_calls_give_complete_correctly_parented_traces_without_cross_talk()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var back = await WebApp.StartAsync(App, AgentEnvironment.For(receiver, "back"));
        using var front = await WebApp.StartAsync(App, AgentEnvironment.For(receiver, "front").With(("BACKEND_URL", back.BaseUrl)));
        using var client = Load.NewClient(Concurrency);

        var result = await Load.RunAsync(
            client,
            front.BaseUrl,
            Requests,
            Concurrency,
            i => "/front/" + (FirstId + i).ToString(CultureInfo.InvariantCulture),
            i => "{\"id\":" + (FirstId + i).ToString(CultureInfo.InvariantCulture) + "}");
        Assert.True(result.Correct == Requests, result + "\n" + string.Join("\n", result.Failures.Take(10)));

        var spans = await receiver.WaitForSpansAsync(
            all => all.Count(s => s.ServiceName == "back" && IsServerFor(s, "/items/")) >= Requests
                && all.Count(s => s.ServiceName == "front" && IsServerFor(s, "/front/")) >= Requests
                && all.Count(s => s.ServiceName == "front" && s.Kind == SpanKinds.Client) >= Requests,
            Timeout);

        var frontServers = spans.Where(s => s.ServiceName == "front" && IsServerFor(s, "/front/")).ToDictionary(s => (string)s.Attribute("url.path")!);
        var backServers = spans.Where(s => s.ServiceName == "back" && IsServerFor(s, "/items/")).ToDictionary(s => (string)s.Attribute("url.path")!);
        var clients = spans.Where(s => s.ServiceName == "front" && s.Kind == SpanKinds.Client).ToDictionary(s => s.SpanId);
        Assert.Equal(Requests, frontServers.Count);
        Assert.Equal(Requests, backServers.Count);
        Assert.Equal(Requests, clients.Count);

        var traceIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Requests; i++)
        {
            var id = (FirstId + i).ToString(CultureInfo.InvariantCulture);
            var frontServer = frontServers["/front/" + id];
            var backServer = backServers["/items/" + id];

            // back's parent is a client span of the same trace, for the same id, whose parent is
            // the front server span of that id.
            Assert.True(clients.TryGetValue(backServer.ParentSpanId, out var call), $"request {id}: back's parent {backServer.ParentSpanId} is no client span");
            Assert.EndsWith("/items/" + id, (string)call.Attribute("url.full")!, StringComparison.Ordinal);
            Assert.Equal(frontServer.SpanId, call.ParentSpanId);
            Assert.True(frontServer.IsRoot, $"request {id}: the front server span has a parent");
            Assert.Equal(frontServer.TraceId, call.TraceId);
            Assert.Equal(frontServer.TraceId, backServer.TraceId);
            Assert.True(traceIds.Add(frontServer.TraceId), $"request {id}: trace {frontServer.TraceId} is shared with another request");
        }

        // Nothing else was exported into these traces.
        var perTrace = spans.Where(s => traceIds.Contains(s.TraceId)).GroupBy(s => s.TraceId).ToList();
        Assert.All(perTrace, g => Assert.Equal(3, g.Count()));

        var text = $"concurrency: {Requests} front->back requests, {Concurrency} in flight: {result}; {traceIds.Count} distinct complete traces of 3 spans";
        output.WriteLine(text);
        Figures.Append(text);
    }

    private static bool IsServerFor(ReceivedSpan span, string pathPrefix) =>
        span.Kind == SpanKinds.Server && (span.Attribute("url.path") as string)?.StartsWith(pathPrefix, StringComparison.Ordinal) == true;
}
