using TraceAgent.IntegrationTests.Infrastructure;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Export;

/// <summary>
/// The exporter's transport against real servers the tests start: an HTTPS receiver whose CA and
/// client certificates the test makes, a forward proxy, a collector answering partial success, and
/// batches too large for one request. The app is the console test app under the agent.
/// </summary>
public sealed class ExportTransportTests : IClassFixture<ExportTransportTests.Certificates>
{
    private const string ConsoleApp = "TestApplication.Console";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TestCertificates _certificates;

    public ExportTransportTests(Certificates certificates)
    {
        _certificates = certificates.Value;
    }

    public sealed class Certificates : IDisposable
    {
        public TestCertificates Value { get; } = TestCertificates.Create();

        public void Dispose() => Value.Dispose();
    }

    private static Dictionary<string, string?> Environment(OtlpReceiver receiver, bool grpc, params (string Key, string? Value)[] more) =>
        AgentEnvironment.For(receiver, "transport-test", grpc)
            // Traces alone: metrics share the transport, and their requests and log lines would
            // double every count here.
            .With(("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"), ("OTEL_EXPORTER_OTLP_TIMEOUT", "20000"), ("OTEL_METRICS_EXPORTER", "none"))
            .With(more);

    private static async Task<TestProcess> RunAsync(Dictionary<string, string?> environment, params string[] arguments)
    {
        var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleApp), environment, arguments.Length == 0 ? ["return", "3"] : arguments);
        await process.WaitForExitAsync(Timeout);

        // Whatever happened to export, the app's own behaviour is unchanged.
        Assert.Equal(5, process.ExitCode);
        Assert.Equal(["console app done"], process.StandardOutput);
        return process;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Https_to_a_collector_with_a_private_CA_works_and_every_request_names_the_agent(bool grpc)
    {
        await using var receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { ServerCertificate = _certificates.Server });
        Assert.StartsWith("https://", receiver.HttpEndpoint, StringComparison.Ordinal);
        using var process = await RunAsync(Environment(receiver, grpc, ("OTEL_EXPORTER_OTLP_CERTIFICATE", _certificates.AuthorityPem)));

        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 6, Timeout);
        Assert.Equal(6, spans.Count);
        var request = Assert.Single(receiver.Requests);
        Assert.Equal("TraceAgent-Exporter-Dotnet/0.1.0", request.Header("user-agent"));
        if (grpc)
        {
            // grpc-timeout: the attempt's budget in milliseconds (20000 here at most).
            var timeout = request.Header("grpc-timeout");
            Assert.Matches("^[0-9]{1,5}m$", timeout);
            Assert.InRange(int.Parse(timeout![..^1], System.Globalization.CultureInfo.InvariantCulture), 1, 20000);
        }

        Assert.DoesNotContain(process.StandardError, l => l.Contains("failed", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false, null, "is not trusted by this machine's CAs")]
    [InlineData(true, null, "is not trusted by this machine's CAs")]
    [InlineData(false, "other", "is not signed by a CA in OTEL_EXPORTER_OTLP_CERTIFICATE")]
    [InlineData(true, "other", "is not signed by a CA in OTEL_EXPORTER_OTLP_CERTIFICATE")]
    [InlineData(false, "other-host", "is not issued for the endpoint's host")]
    [InlineData(true, "other-host", "is not issued for the endpoint's host")]
    public async Task An_untrusted_collector_is_refused_with_one_clear_line(bool grpc, string? trust, string reason)
    {
        // "other-host": a certificate from the CA the agent is told to trust, for another host.
        await using var receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { ServerCertificate = trust == "other-host" ? _certificates.OtherHostServer : _certificates.Server });

        // Through a proxy that counts the connections the exporter opens.
        await using var proxy = new ConnectProxy();
        var environment = Environment(receiver, grpc, ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4"), ("HTTPS_PROXY", proxy.Url));
        if (trust is not null)
        {
            environment["OTEL_EXPORTER_OTLP_CERTIFICATE"] = trust == "other-host" ? _certificates.AuthorityPem : _certificates.OtherAuthorityPem;
        }

        // 20 spans in batches of 4: five exports, all refused, one line, and no retry: one connection each.
        using var process = await RunAsync(environment, "return", "10");
        Assert.Equal(5, proxy.Requests.Count);
        var line = Assert.Single(process.StandardError, l => l.Contains("TLS handshake failed", StringComparison.Ordinal));
        Assert.Contains(reason, line, StringComparison.Ordinal);
        Assert.Contains("CN=traceagent-test-collector", line, StringComparison.Ordinal);
        Assert.Contains(" warn traces export to https://127.0.0.1:", line, StringComparison.Ordinal);
        Assert.Empty(receiver.Spans);
        Assert.Equal(0, receiver.RequestCount);
        Assert.Contains(process.StandardError, l => l.Contains("20 not accepted by the exporter", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false, "pkcs8", "OTEL_EXPORTER_OTLP_TRACES_")]
    [InlineData(true, "pkcs8", "OTEL_EXPORTER_OTLP_TRACES_")]
    [InlineData(false, "combined", "OTEL_EXPORTER_OTLP_TRACES_")]
    [InlineData(true, "pkcs8", "OTEL_EXPORTER_OTLP_")]
    [InlineData(false, "pkcs1", "OTEL_EXPORTER_OTLP_")]
    [InlineData(true, "pkcs1", "OTEL_EXPORTER_OTLP_")]
    [InlineData(false, "ec", "OTEL_EXPORTER_OTLP_")]
    [InlineData(true, "ec", "OTEL_EXPORTER_OTLP_")]
    public async Task The_client_certificate_is_presented_when_the_collector_requires_one(bool grpc, string key, string prefix)
    {
        await using var receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions
        {
            ServerCertificate = _certificates.Server,
            RequiredClientCertificateAuthority = _certificates.Authority,
        });

        // The per-signal variables for traces or the generic ones; the key as PKCS#8, PKCS#1
        // ("RSA PRIVATE KEY") or SEC1 EC ("EC PRIVATE KEY"), or in the certificate's own file.
        var (certificate, keyFile, subject) = key switch
        {
            "combined" => (_certificates.ClientCombinedPem, null, "CN=traceagent-test-client"),
            "pkcs1" => (_certificates.ClientCertificatePem, _certificates.ClientKeyPkcs1Pem, "CN=traceagent-test-client"),
            "ec" => (_certificates.EcClientCertificatePem, _certificates.EcClientKeyPem, "CN=traceagent-test-ec-client"),
            _ => (_certificates.ClientCertificatePem, (string?)_certificates.ClientKeyPem, "CN=traceagent-test-client"),
        };
        var environment = Environment(
            receiver,
            grpc,
            (prefix + "CERTIFICATE", _certificates.AuthorityPem),
            (prefix + "CLIENT_CERTIFICATE", certificate),
            (prefix + "CLIENT_KEY", keyFile));
        using var process = await RunAsync(environment);

        await receiver.WaitForSpansAsync(s => s.Count >= 6, Timeout);
        Assert.Equal(subject, Assert.Single(receiver.Requests).ClientCertificateSubject);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_collector_that_refuses_the_client_certificate_given_is_said_once_by_name(bool grpc)
    {
        // The collector accepts client certificates of another CA only.
        await using var receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions
        {
            ServerCertificate = _certificates.Server,
            RequiredClientCertificateAuthority = _certificates.OtherAuthority,
        });
        var environment = Environment(
            receiver,
            grpc,
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", _certificates.AuthorityPem),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", _certificates.ClientCertificatePem),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", _certificates.ClientKeyPem),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4"));
        using var process = await RunAsync(environment, "return", "10");

        var lines = process.StandardError.Where(l => l.Contains(" warn traces export to https://127.0.0.1:", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.Contains("the collector closed the connection after the client certificate (CN=traceagent-test-client) was presented", line, StringComparison.Ordinal);
        Assert.Empty(receiver.Spans);
        Assert.Contains(process.StandardError, l => l.Contains("20 not accepted by the exporter", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_take_their_own_certificate_variables_and_traces_keep_the_generic_ones()
    {
        await using var secure = await OtlpReceiver.StartAsync(new OtlpReceiverOptions
        {
            ServerCertificate = _certificates.Server,
            RequiredClientCertificateAuthority = _certificates.Authority,
        });
        await using var plain = await OtlpReceiver.StartAsync();
        var environment = Environment(
            plain,
            false,
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", secure.HttpEndpoint + "/v1/metrics"),
            ("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", _certificates.AuthorityPem),
            ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", _certificates.ClientCertificatePem),
            ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", _certificates.ClientKeyPem));
        using var process = await RunAsync(environment);

        // The exit flushes both signals.
        Assert.NotEmpty(secure.Requests);
        Assert.All(secure.Requests, r => Assert.Equal(("metrics", "CN=traceagent-test-client"), (r.Signal, r.ClientCertificateSubject)));
        Assert.NotEmpty(plain.Requests);
        Assert.All(plain.Requests, r => Assert.Equal(("traces", null), (r.Signal, r.ClientCertificateSubject)));
        Assert.DoesNotContain(process.StandardError, l => l.Contains(" warn ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Logs_take_their_own_certificate_variables_and_traces_keep_the_generic_endpoint(bool grpc)
    {
        await using var secure = await OtlpReceiver.StartAsync(new OtlpReceiverOptions
        {
            ServerCertificate = _certificates.Server,
            RequiredClientCertificateAuthority = _certificates.Authority,
        });
        await using var plain = await OtlpReceiver.StartAsync();
        var environment = AgentEnvironment.For(plain, "transport-logs", grpc).With(
            ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApplication.LoggingConsole"),
            ("OTEL_METRICS_EXPORTER", "none"),
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", grpc ? secure.GrpcEndpoint : secure.HttpEndpoint + "/v1/logs"),
            ("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", _certificates.AuthorityPem),
            ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE", _certificates.ClientCertificatePem),
            ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY", _certificates.ClientKeyPem));
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll("TestApplication.LoggingConsole-high"), environment);
        Assert.Equal(0, await process.WaitForExitAsync(Timeout));

        // The exit flushes both signals: the records over mutual TLS, the span in plain text.
        var work = Assert.Single(plain.Spans, s => s.Name == "work");
        var inside = Assert.Single(secure.Logs, l => l.Attributes.TryGetValue("Marker", out var marker) && (marker as string) == "console-inside");
        Assert.Equal(work.TraceId, inside.TraceId);
        Assert.NotEmpty(secure.Requests);
        Assert.All(secure.Requests, r => Assert.Equal(("logs", "CN=traceagent-test-client"), (r.Signal, r.ClientCertificateSubject)));
        Assert.All(plain.Requests, r => Assert.Equal(("traces", null), (r.Signal, r.ClientCertificateSubject)));
        Assert.DoesNotContain(process.StandardError, l => l.Contains(" warn ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_a_client_certificate_a_collector_that_requires_one_refuses_and_it_is_said_once(bool grpc)
    {
        await using var receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions
        {
            ServerCertificate = _certificates.Server,
            RequiredClientCertificateAuthority = _certificates.Authority,
        });
        using var process = await RunAsync(Environment(receiver, grpc, ("OTEL_EXPORTER_OTLP_CERTIFICATE", _certificates.AuthorityPem), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4")), "return", "10");

        var lines = process.StandardError.Where(l => l.Contains("traces export to https://127.0.0.1:", StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count == 1, string.Join("\n", lines));
        Assert.Contains("TLS handshake failed: the collector asked for a client certificate and none is configured", lines[0], StringComparison.Ordinal);
        Assert.Empty(receiver.Spans);
    }

    [Fact]
    public async Task Unreadable_certificate_files_are_reported_once_by_name_and_export_is_off()
    {
        await using var receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { ServerCertificate = _certificates.Server });
        var missing = Path.Combine(_certificates.Directory, "no-such-ca.pem");

        // The generic variable serves traces and logs: one line for both.
        using var process = await RunAsync(Environment(receiver, false, ("OTEL_EXPORTER_OTLP_CERTIFICATE", missing), ("OTEL_LOGS_EXPORTER", "otlp")));
        var line = Assert.Single(process.StandardError, l => l.Contains("OTEL_EXPORTER_OTLP_CERTIFICATE", StringComparison.Ordinal));
        Assert.Contains(" warn OTEL_EXPORTER_OTLP_CERTIFICATE='" + missing + "' cannot be used: ", line, StringComparison.Ordinal);
        Assert.Contains("OTLP export is off", line, StringComparison.Ordinal);
        Assert.Equal(0, receiver.RequestCount);

        // A key that is not a key: named with its certificate.
        var garbage = Path.Combine(_certificates.Directory, "garbage-key.pem");
        await File.WriteAllTextAsync(garbage, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
        using var second = await RunAsync(Environment(
            receiver,
            true,
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", _certificates.AuthorityPem),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", _certificates.ClientCertificatePem),
            ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", garbage)));
        line = Assert.Single(second.StandardError, l => l.Contains("cannot be used", StringComparison.Ordinal));
        Assert.Contains("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", line, StringComparison.Ordinal);
        Assert.Contains(garbage, line, StringComparison.Ordinal);
        Assert.Equal(0, receiver.RequestCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Https_goes_through_the_proxy_HTTPS_PROXY_names(bool grpc)
    {
        await using var receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { ServerCertificate = _certificates.Server });
        await using var proxy = new ConnectProxy();
        using var process = await RunAsync(Environment(receiver, grpc, ("OTEL_EXPORTER_OTLP_CERTIFICATE", _certificates.AuthorityPem), ("HTTPS_PROXY", proxy.Url)));

        await receiver.WaitForSpansAsync(s => s.Count >= 6, Timeout);
        var port = grpc ? receiver.GrpcPort : receiver.HttpPort;
        Assert.Equal([$"CONNECT 127.0.0.1:{port} HTTP/1.1"], proxy.Requests);
    }

    [Fact]
    public async Task Plain_http_goes_through_HTTP_PROXY_or_ALL_PROXY_and_NO_PROXY_bypasses_it()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var proxy = new ConnectProxy();
        using var viaProxy = await RunAsync(Environment(receiver, false, ("http_proxy", proxy.Url)));
        await receiver.WaitForSpansAsync(s => s.Count >= 6, Timeout);
        Assert.Equal([$"POST {receiver.HttpEndpoint}/v1/traces HTTP/1.1"], proxy.Requests);

        receiver.Clear();
        using var bypassed = await RunAsync(Environment(receiver, false, ("HTTP_PROXY", proxy.Url), ("NO_PROXY", "example.com,127.0.0.1")));
        await receiver.WaitForSpansAsync(s => s.Count >= 6, Timeout);
        Assert.Single(proxy.Requests);

        // ALL_PROXY alone names the proxy for every scheme.
        receiver.Clear();
        using var viaAllProxy = await RunAsync(Environment(receiver, false, ("ALL_PROXY", proxy.Url)));
        await receiver.WaitForSpansAsync(s => s.Count >= 6, Timeout);
        Assert.Equal(2, proxy.Requests.Count);
        Assert.Equal($"POST {receiver.HttpEndpoint}/v1/traces HTTP/1.1", proxy.Requests[^1]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Export_to_a_plain_http_collector_loads_no_HttpClient_into_the_app_and_https_does(bool https)
    {
        // The agent's own HTTP/1.1 client carries plain OTLP/HTTP; HttpClient is for TLS, proxies
        // and gRPC. The console app makes no HTTP call of its own.
        await using var receiver = https
            ? await OtlpReceiver.StartAsync(new OtlpReceiverOptions { ServerCertificate = _certificates.Server })
            : await OtlpReceiver.StartAsync();
        var environment = https ? Environment(receiver, false, ("OTEL_EXPORTER_OTLP_CERTIFICATE", _certificates.AuthorityPem)) : Environment(receiver, false);
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleApp), environment, ["wait", "3"]);
        await process.WaitForOutputAsync("waiting for a signal", Timeout);

        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 6, Timeout);
        Assert.Equal(6, spans.Count);
        Assert.Equal("TraceAgent-Exporter-Dotnet/0.1.0", Assert.Single(receiver.Requests).Header("user-agent"));
        var mapped = File.ReadAllLines($"/proc/{process.Id}/maps").Any(l => l.EndsWith("/System.Net.Http.dll", StringComparison.Ordinal));
        Assert.Equal(https, mapped);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Partial_success_counts_the_rejected_spans_as_lost_and_logs_the_message_once(bool grpc)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.PartialSuccess(3, "3 spans had an attribute the backend refuses");
        using var process = await RunAsync(Environment(receiver, grpc, ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4")), "return", "10");

        var requests = receiver.Requests.Count;
        Assert.True(requests >= 5, "20 spans in batches of at most 4");
        var line = Assert.Single(process.StandardError, l => l.Contains("rejected", StringComparison.Ordinal));
        Assert.Contains("traces export to http://127.0.0.1:", line, StringComparison.Ordinal);
        Assert.Contains("the collector rejected 3 spans of a batch: 3 spans had an attribute the backend refuses", line, StringComparison.Ordinal);

        // The loss summary at exit counts what the collector said it rejected, and no more.
        var summary = process.StandardError.Last(l => l.Contains("spans lost so far", StringComparison.Ordinal));
        Assert.Contains($"{3 * requests} not accepted by the exporter; {20 - (3 * requests)} exported", summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batch_larger_than_4_MiB_arrives_whole_in_several_requests(bool grpc)
    {
        await using var receiver = await OtlpReceiver.StartAsync();

        // 40 root spans with 256 KiB query texts (and their children): about 10 MiB in one batch.
        // The app then waits, so the export is not cut short by the bounded flush at exit.
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleApp), Environment(receiver, grpc), ["wait", "40", "256"]);
        await process.WaitForOutputAsync("waiting for a signal", Timeout);

        var spans = await receiver.WaitForSpansAsync(s => s.Count >= 80, Timeout);
        Assert.Equal(80, spans.Count);
        Assert.Equal(40, spans.Select(s => s.Attribute("db.query.text")).OfType<string>().Distinct().Count());
        Assert.All(spans.Where(s => s.Name == "console-root"), s => Assert.InRange(((string)s.Attribute("db.query.text")!).Length, (256 * 1024) - 20, 256 * 1024));
        Assert.True(receiver.Requests.Count >= 3, "about 10 MiB needs at least three requests of at most 4 MiB");
        Assert.All(receiver.Requests, r => Assert.True(r.BodyLength <= 4 * 1024 * 1024 + 5, r.ToString()));
        Assert.DoesNotContain(process.StandardError, l => l.Contains(" warn ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_span_larger_than_4_MiB_alone_is_dropped_said_once_and_counted_and_the_rest_arrive(bool grpc)
    {
        // One root with a 4.1 MiB query text, and its small child.
        await using var receiver = await OtlpReceiver.StartAsync();
        using var process = await RunAsync(Environment(receiver, grpc), "return", "1", "4200");

        var span = Assert.Single(receiver.Spans);
        Assert.Equal("console-child", span.Name);
        var line = Assert.Single(process.StandardError, l => l.Contains("alone encodes to", StringComparison.Ordinal));
        Assert.Contains("more than a request may carry (4194304 bytes); it is dropped (limit attribute values with OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT)", line, StringComparison.Ordinal);
        var summary = process.StandardError.Last(l => l.Contains("spans lost so far", StringComparison.Ordinal));
        Assert.Contains("1 not accepted by the exporter; 1 exported", summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_answer_larger_than_1_MiB_is_abandoned_and_the_batch_is_not_sent_again(bool grpc)
    {
        // The collector takes the spans and answers success with 2 MiB: over HTTP the status says
        // it all; over gRPC the status is in trailers after the body, so the batch is reported lost.
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.HugeAnswer(2 * 1024 * 1024);
        using var process = await RunAsync(Environment(receiver, grpc));

        // Each span arrived once: none was sent again.
        Assert.Equal(6, receiver.Spans.Count);
        Assert.Equal(6, receiver.Spans.Select(s => s.SpanId).Distinct().Count());
        if (!grpc)
        {
            Assert.DoesNotContain(process.StandardError, l => l.Contains(" warn ", StringComparison.Ordinal));
            return;
        }

        var line = Assert.Single(process.StandardError, l => l.Contains(" warn traces export to ", StringComparison.Ordinal));
        Assert.Contains("the answer was larger than 1048576 bytes and was not read", line, StringComparison.Ordinal);
        var summary = process.StandardError.Last(l => l.Contains("spans lost so far", StringComparison.Ordinal));
        Assert.Contains("6 not accepted by the exporter; 0 exported", summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_path_in_a_grpc_endpoint_is_kept()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = Environment(receiver, true, ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.GrpcEndpoint + "/gateway/otlp/"));
        using var process = await RunAsync(environment);
        await receiver.WaitForSpansAsync(s => s.Count >= 6, Timeout);
        Assert.Equal("/gateway/otlp/opentelemetry.proto.collector.trace.v1.TraceService/Export", Assert.Single(receiver.Requests).Path);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(1)]
    public async Task Grpc_RESOURCE_EXHAUSTED_is_retried_only_when_the_server_sends_RetryInfo(int? retryAfterSeconds)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Status(429, retryAfterSeconds);
        Assert.Equal(8, receiver.Mode.GrpcStatusCode);
        var environment = Environment(receiver, true, ("OTEL_BSP_SCHEDULE_DELAY", "60000"));
        using var process = TestProcess.StartDotnet(RepoPaths.TestAppDll(ConsoleApp), environment, ["wait", "3"]);
        await process.WaitForOutputAsync("waiting for a signal", Timeout);

        // One export (the flush on SIGTERM); a retry, if any, follows the server's 1 s delay.
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await process.WaitForExitAsync(Timeout);
        if (retryAfterSeconds is null)
        {
            Assert.Equal(1, receiver.RequestCount);
        }
        else
        {
            // Retried after the server's delay, as often as the 5 s flush budget allows.
            Assert.InRange(receiver.RequestCount, 2, 5);
        }

        Assert.Contains(process.StandardError, l => l.Contains("grpc-status 8", StringComparison.Ordinal));
    }
}
