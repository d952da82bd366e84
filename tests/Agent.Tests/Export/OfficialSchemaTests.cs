using System.Diagnostics;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceAgent.Configuration;
using TraceAgent.Export;

namespace TraceAgent.Tests.Export;

/// <summary>The trace encoder's output decoded by classes generated from the official OTLP .proto files.</summary>
public sealed class OfficialSchemaTests
{
    [Fact]
    public void A_span_decodes_with_the_official_schema()
    {
        using var source = new ActivitySource("official.schema", "1.2.3");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var activity = source.StartActivity("GET /orders/{id}", ActivityKind.Server)!;
        activity.SetTag("http.request.method", "GET");
        activity.SetTag("http.response.status_code", 200);
        activity.Stop();

        var encoder = new OtlpTraceEncoder([new("service.name", "schema-test")], new SpanLimits(128, null, 128, 128, 128, 128));
        var writer = new ProtoWriter(16);
        encoder.Encode(writer, [activity]);
        var request = ExportTraceServiceRequest.Parser.ParseFrom(writer.WrittenSpan.ToArray());

        var resourceSpans = Assert.Single(request.ResourceSpans);
        Assert.Equal("schema-test", Assert.Single(resourceSpans.Resource.Attributes, a => a.Key == "service.name").Value.StringValue);
        var scope = Assert.Single(resourceSpans.ScopeSpans);
        Assert.Equal("official.schema", scope.Scope.Name);
        Assert.Equal("1.2.3", scope.Scope.Version);
        var span = Assert.Single(scope.Spans);
        Assert.Equal(activity.TraceId.ToHexString(), Convert.ToHexString(span.TraceId.ToByteArray()).ToLowerInvariant());
        Assert.Equal(activity.SpanId.ToHexString(), Convert.ToHexString(span.SpanId.ToByteArray()).ToLowerInvariant());
        Assert.Equal("GET /orders/{id}", span.Name);
        Assert.Equal(OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Server, span.Kind);
        Assert.Equal("GET", Assert.Single(span.Attributes, a => a.Key == "http.request.method").Value.StringValue);
        Assert.Equal(200L, Assert.Single(span.Attributes, a => a.Key == "http.response.status_code").Value.IntValue);
        Assert.True(span.EndTimeUnixNano >= span.StartTimeUnixNano);
    }
}
