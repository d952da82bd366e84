using System.Collections;
using System.Globalization;
using System.Net;
using System.Text;
using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Reliability;

/// <summary>
/// Secrets planted everywhere a careless agent would pick them up; none may appear in anything the
/// agent exports or logs (span names, attributes, events, links, resource, stderr, its log file).
/// </summary>
public sealed class SecretsTests
{
    private const string App = "TestApplication.Web";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static readonly string[] Secrets =
    [
        "S3cretAuthorizationToken",
        "S3cretCookieValue",
        "S3cretIncomingQueryValue",
        "S3cretOutgoingQueryValue",
        "S3cretExporterHeaderValue",
        "S3cretExporterBearer",
        "S3cretEndpointPassword",
        "S3cretEndpointQueryValue",
        "S3cretCommandLineValue",
        "S3cretEnvironmentValue",
        "S3cretRejectedEndpointQueryValue",
        "S3cretRejectedEndpointPassword",
    ];

    [Fact]
    public async Task No_planted_secret_reaches_exported_spans_or_agent_logs()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var logDirectory = Directory.CreateTempSubdirectory("traceagent-secrets-");
        try
        {
            Dictionary<string, string?> Environment(string service) => AgentEnvironment.For(receiver, service).With(
                ("OTEL_EXPORTER_OTLP_ENDPOINT", $"http://exporter:S3cretEndpointPassword@127.0.0.1:{receiver.HttpPort.ToString(CultureInfo.InvariantCulture)}"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", $"http://exporter:S3cretEndpointPassword@127.0.0.1:{receiver.HttpPort.ToString(CultureInfo.InvariantCulture)}/v1/traces?api_key=S3cretEndpointQueryValue"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=S3cretExporterHeaderValue,authorization=Bearer%20S3cretExporterBearer"),

                // Log export on: the start-up line names the logs endpoint, made from the generic one.
                ("OTEL_LOGS_EXPORTER", "otlp"),

                // Values the agent rejects are quoted in a warning: without a scheme, and with one it does not take.
                ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "collector:4318/v1/metrics?api_key=S3cretRejectedEndpointQueryValue"),
                ("OTEL_EXPORTER_ZIPKIN_ENDPOINT", "grpc://exporter:S3cretRejectedEndpointPassword@collector:9411/api/v2/spans"),
                ("OTEL_DOTNET_AUTO_LOG_DIRECTORY", logDirectory.FullName),
                ("OTEL_LOG_LEVEL", "debug"),
                ("APP_DATABASE_PASSWORD", "S3cretEnvironmentValue"));

            using var back = await WebApp.StartAsync(App, Environment("secrets-back"));
            using var front = await StartWithArgumentAsync(Environment("secrets-front").With(("BACKEND_URL", back.BaseUrl)));

            // The first export is refused, so failure lines (which name the endpoint) are logged too.
            receiver.Mode = ReceiverMode.Status(500);
            using var client = new HttpClient();
            using (var request = new HttpRequestMessage(HttpMethod.Get, front.BaseUrl + "/front?path=" + Uri.EscapeDataString("/items/7?token=S3cretOutgoingQueryValue") + "&api_key=S3cretIncomingQueryValue"))
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "S3cretAuthorizationToken");
                request.Headers.Add("Cookie", "session=S3cretCookieValue");
                using var response = await client.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            await receiver.WaitForRequestsAsync(r => r.Count(q => q.Mode.Kind == ReceiverModeKind.Status) >= 2, Timeout);
            await front.Process.WaitForOutputAsync("failed: HTTP 500", Timeout);
            receiver.Mode = ReceiverMode.Normal;

            using (var request = new HttpRequestMessage(HttpMethod.Get, front.BaseUrl + "/front?path=" + Uri.EscapeDataString("/items/8?token=S3cretOutgoingQueryValue") + "&api_key=S3cretIncomingQueryValue"))
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "S3cretAuthorizationToken");
                request.Headers.Add("Cookie", "session=S3cretCookieValue");
                using var response = await client.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            IReadOnlyList<ReceivedSpan> spans;
            try
            {
                spans = await receiver.WaitForSpansAsync(
                    s => s.Any(x => x.ServiceName == "secrets-back" && (x.Attribute("url.path") as string) == "/items/8")
                        && s.Any(x => x.ServiceName == "secrets-front" && x.Kind == SpanKinds.Client)
                        && s.Any(x => x.ServiceName == "secrets-front" && (x.Attribute("url.path") as string) == "/front"),
                    Timeout);
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException(front.Process.Describe(ex.Message) + "\n" + back.Process.Describe("back"), ex);
            }

            // The exporter headers do reach the collector (they are meant for it).
            Assert.Contains(receiver.Requests, r => r.Header("x-api-key") == "S3cretExporterHeaderValue");
            Assert.Contains(receiver.Requests, r => r.Header("authorization") == "Bearer S3cretExporterBearer");

            // Stop both apps gracefully so their shutdown lines reach the log files too.
            await StopAsync(front.Process);
            await StopAsync(back.Process);

            var exported = new StringBuilder();
            foreach (var span in spans)
            {
                exported.Append(span.Name).Append('\n').Append(span.StatusMessage).Append('\n').Append(span.TraceState).Append('\n').Append(span.ScopeName).Append('\n');
                Append(exported, span.Attributes);
                Append(exported, span.ResourceAttributes);
                foreach (var spanEvent in span.Events)
                {
                    exported.Append(spanEvent.Name).Append('\n');
                    Append(exported, spanEvent.Attributes);
                }

                foreach (var link in span.Links)
                {
                    Append(exported, link.Attributes);
                }
            }

            var logFiles = logDirectory.GetFiles("traceagent-*.log");
            Assert.Equal(2, logFiles.Length);
            var logs = string.Join("\n", logFiles.Select(f => File.ReadAllText(f.FullName)));
            Assert.Contains(" debug ", logs, StringComparison.Ordinal);
            var stderr = string.Join("\n", front.Process.StandardError.Concat(back.Process.StandardError));
            Assert.Contains("failed: HTTP 500", stderr, StringComparison.Ordinal);

            // The planted values did travel: the query keys and the redaction marker are there.
            Assert.Contains("api_key=REDACTED", exported.ToString(), StringComparison.Ordinal);
            Assert.Contains("token=REDACTED", exported.ToString(), StringComparison.Ordinal);

            // The traces endpoint's query did reach the collector, and the log lines that name the
            // endpoint show that it has one.
            Assert.Contains(receiver.Requests, r => r.Path == "/v1/traces" && r.Query == "?api_key=S3cretEndpointQueryValue");
            Assert.Contains("/v1/traces?REDACTED failed: HTTP 500", stderr, StringComparison.Ordinal);
            Assert.Contains($"exported to otlp/http http://127.0.0.1:{receiver.HttpPort.ToString(CultureInfo.InvariantCulture)}/v1/logs", stderr, StringComparison.Ordinal);
            Assert.Contains("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT='collector:4318/v1/metrics?REDACTED' is not an absolute http or https URL", stderr, StringComparison.Ordinal);
            Assert.Contains("OTEL_EXPORTER_ZIPKIN_ENDPOINT='grpc://collector:9411/api/v2/spans' is not an absolute http or https URL", stderr, StringComparison.Ordinal);

            foreach (var secret in Secrets)
            {
                Assert.False(exported.ToString().Contains(secret, StringComparison.Ordinal), $"{secret} was exported:\n{Around(exported.ToString(), secret)}");
                Assert.False(stderr.Contains(secret, StringComparison.Ordinal), $"{secret} was written to stderr:\n{Around(stderr, secret)}");
                Assert.False(logs.Contains(secret, StringComparison.Ordinal), $"{secret} was written to the log file:\n{Around(logs, secret)}");
            }
        }
        finally
        {
            logDirectory.Delete(recursive: true);
        }
    }

    private sealed record Started(TestProcess Process, string BaseUrl) : IDisposable
    {
        public void Dispose() => Process.Dispose();
    }

    private static async Task<Started> StartWithArgumentAsync(Dictionary<string, string?> environment)
    {
        // A secret on the command line (as configuration), where process.command_args would show it.
        var port = TcpPort.FreePort();
        var url = "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);
        var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(App), environment, ["--urls", url, "--ConnectionStrings:Main=Host=db;Password=S3cretCommandLineValue"]);
        using var client = new HttpClient();
        for (var attempt = 0; attempt < 300; attempt++)
        {
            try
            {
                using var response = await client.GetAsync(url + WebApp.ReadinessPath);
                break;
            }
            catch (HttpRequestException) when (!process.HasExited)
            {
                await Task.Delay(100);
            }
        }

        return new Started(process, url);
    }

    private static async Task StopAsync(TestProcess process)
    {
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await process.WaitForExitAsync(Timeout);
    }

    private static void Append(StringBuilder text, IReadOnlyDictionary<string, object?> attributes)
    {
        foreach (var (key, value) in attributes)
        {
            text.Append(key).Append('=');
            AppendValue(text, value);
            text.Append('\n');
        }
    }

    private static void AppendValue(StringBuilder text, object? value)
    {
        switch (value)
        {
            case null:
                break;
            case string s:
                text.Append(s);
                break;
            case byte[] bytes:
                text.Append(Encoding.UTF8.GetString(bytes));
                break;
            case IDictionary dictionary:
                foreach (DictionaryEntry entry in dictionary)
                {
                    text.Append(entry.Key).Append(':');
                    AppendValue(text, entry.Value);
                    text.Append(';');
                }

                break;
            case IEnumerable items:
                foreach (var item in items)
                {
                    AppendValue(text, item);
                    text.Append(',');
                }

                break;
            default:
                text.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static string Around(string text, string secret)
    {
        var at = text.IndexOf(secret, StringComparison.Ordinal);
        var start = Math.Max(0, at - 200);
        return text.Substring(start, Math.Min(text.Length - start, 400));
    }
}
