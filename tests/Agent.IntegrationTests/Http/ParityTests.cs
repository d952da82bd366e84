using System.Globalization;
using System.Text;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Http;

/// <summary>
/// The same requests through two front -> back pairs of the same web app: one under the agent, one
/// with the OpenTelemetry SDK and the OpenTelemetry.Instrumentation.AspNetCore and .Http packages
/// wired in code (TestApplication.WebWithOpenTelemetry). Span names, kinds, status and attributes
/// must match, except for the differences listed here and in docs/design.md, each with its reason.
/// </summary>
public sealed class ParityTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static readonly string[] Requests = ["/hello", "/items/42?token=abc&page=2", "/status/404", "/status/503", "/throw", "/front"];

    /// <summary>
    /// Every difference the agent has with the SDK packages, as "span: attribute: sdk -> agent".
    /// docs/design.md ("Parity with the OpenTelemetry instrumentation packages") says why for each.
    /// </summary>
    private static readonly string[] ExpectedDifferences =
    [
        // The agent records the caller's address on server spans (semantic conventions: recommended).
        "/front back server: client.address: (absent) -> 127.0.0.1",
        "/front front server: client.address: (absent) -> 127.0.0.1",
        "/hello front server: client.address: (absent) -> 127.0.0.1",
        "/items/42?token=abc&page=2 front server: client.address: (absent) -> 127.0.0.1",
        "/status/404 front server: client.address: (absent) -> 127.0.0.1",
        "/status/503 front server: client.address: (absent) -> 127.0.0.1",
        "/throw front server: client.address: (absent) -> 127.0.0.1",

        // url.query as the semantic conventions write it: no leading '?', values replaced by REDACTED.
        "/front back server: url.query: ?token=Redacted -> token=REDACTED",
        "/items/42?token=abc&page=2 front server: url.query: ?token=Redacted&page=Redacted -> token=REDACTED&page=REDACTED",

        // An unhandled exception is recorded as the span's exception event (the package needs RecordException = true).
        "/throw front server: (events):  -> exception{exception.message,exception.stacktrace,exception.type}",
    ];

    [Fact]
    public async Task Agent_spans_match_the_OpenTelemetry_instrumentation_packages_but_for_the_listed_differences()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var agentBack = await WebApp.StartAsync("TestApplication.Web", AgentEnvironment.For(receiver, "agent-back"));
        using var agentFront = await WebApp.StartAsync("TestApplication.Web", AgentEnvironment.For(receiver, "agent-front").With(("BACKEND_URL", agentBack.BaseUrl)));
        using var sdkBack = await WebApp.StartAsync("TestApplication.WebWithOpenTelemetry", SdkEnvironment(receiver, "sdk-back"));
        using var sdkFront = await WebApp.StartAsync("TestApplication.WebWithOpenTelemetry", SdkEnvironment(receiver, "sdk-front").With(("BACKEND_URL", sdkBack.BaseUrl)));

        using var client = new HttpClient();
        client.DefaultRequestHeaders.UserAgent.ParseAdd("parity-test/1.0");
        foreach (var path in Requests)
        {
            foreach (var front in new[] { agentFront, sdkFront })
            {
                using var response = await client.GetAsync(front.BaseUrl + path);
            }
        }

        // Each request's spans: the front's server span, and for /front the client and back server spans.
        var expected = Requests.Length + 2;
        var spans = await receiver.WaitForSpansAsync(
            all => new[] { "agent", "sdk" }.All(side => all.Count(s => s.ServiceName.StartsWith(side, StringComparison.Ordinal) && !IsReadiness(s)) >= expected),
            Timeout);

        var differences = new List<string>();
        foreach (var path in Requests)
        {
            foreach (var role in new[] { "front server", "front client", "back server" })
            {
                var sdk = Find(spans, "sdk", path, role);
                var agent = Find(spans, "agent", path, role);
                if (sdk is null && agent is null)
                {
                    continue;
                }

                Assert.True(sdk is not null && agent is not null, $"{path} {role}: sdk {sdk?.ToString() ?? "none"}, agent {agent?.ToString() ?? "none"}");
                Compare($"{path} {role}", Normalize(sdk!), Normalize(agent!), differences);
            }
        }

        Assert.True(
            ExpectedDifferences.Order().SequenceEqual(differences.Distinct().Order()),
            "Differences between the SDK packages and the agent:\n" + string.Join("\n", differences.Distinct().Order()));
    }

    private static Dictionary<string, string?> SdkEnvironment(OtlpReceiver receiver, string service) => new()
    {
        ["ASPNETCORE_URLS"] = null,
        ["OTEL_SERVICE_NAME"] = service,
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.HttpEndpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
    };

    private static bool IsReadiness(ReceivedSpan span) =>
        span.Attribute("url.path") as string == WebApp.ReadinessPath || (span.Attribute("url.full") as string)?.Contains(WebApp.ReadinessPath, StringComparison.Ordinal) == true;

    private static ReceivedSpan? Find(IReadOnlyList<ReceivedSpan> spans, string side, string path, string role)
    {
        var urlPath = path.Split('?')[0];
        var front = spans.FirstOrDefault(s => s.ServiceName == side + "-front" && s.Kind == SpanKinds.Server && s.Attribute("url.path") as string == urlPath);
        if (front is null || role == "front server")
        {
            return front;
        }

        var outgoing = spans.FirstOrDefault(s => s.ServiceName == side + "-front" && s.Kind == SpanKinds.Client && s.TraceId == front.TraceId);
        if (role == "front client")
        {
            return outgoing;
        }

        return spans.FirstOrDefault(s => s.ServiceName == side + "-back" && s.Kind == SpanKinds.Server && s.TraceId == front.TraceId);
    }

    // What may differ by construction (ports, ids, times) is replaced by a placeholder.
    private static SortedDictionary<string, string> Normalize(ReceivedSpan span)
    {
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["(name)"] = span.Name,
            ["(kind)"] = span.KindName,
            ["(status)"] = span.StatusCode.ToString(CultureInfo.InvariantCulture) + (span.StatusMessage.Length > 0 ? " " + span.StatusMessage : string.Empty),
            ["(events)"] = string.Join(",", span.Events.Select(e => e.Name + "{" + string.Join(",", e.Attributes.Keys.Order()) + "}")),
            ["(scope)"] = span.ScopeName,
        };
        foreach (var (key, value) in span.Attributes)
        {
            var text = value switch
            {
                object?[] array => "[" + string.Join(",", array) + "]",
                _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null",
            };
            if (key is "server.port" or "client.port" or "network.peer.port")
            {
                text = "<port>";
            }

            fields[key] = System.Text.RegularExpressions.Regex.Replace(text, @"127\.0\.0\.1:\d+", "127.0.0.1:<port>");
        }

        return fields;
    }

    private static void Compare(string what, SortedDictionary<string, string> sdk, SortedDictionary<string, string> agent, List<string> differences)
    {
        foreach (var key in sdk.Keys.Union(agent.Keys).Order(StringComparer.Ordinal))
        {
            var left = sdk.TryGetValue(key, out var l) ? l : "(absent)";
            var right = agent.TryGetValue(key, out var r) ? r : "(absent)";
            if (left != right)
            {
                differences.Add($"{what}: {key}: {left} -> {right}");
            }
        }
    }
}
