using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Tests.Export;

/// <summary>
/// Spans written with no Activity (the Redis command spans): what the collector receives is the
/// span the Activity would have been, and the pipeline refuses them wherever it would not be.
/// </summary>
public sealed class DirectSpansTests
{
    private sealed class Harness : IDisposable
    {
        private readonly ISpanProcessor _processor;
        private readonly DecodingExporter? _exporter;

        public Harness(string sampler = "parentbased_always_on", int attributeLimit = 128, bool encodeAsTheyEnd = true)
        {
            SourceName = "TraceAgent.Test.Direct." + Guid.NewGuid().ToString("N");
            var encoder = new OtlpTraceEncoder([new("service.name", "direct-test")], new SpanLimits(attributeLimit, null, 128, 128, 128, 128));
            var settings = new BatchSettings(60_000, 30_000, 1024, 512);
            if (encodeAsTheyEnd)
            {
                _exporter = new DecodingExporter(encoder);
                _processor = new EncodingSpanProcessor(encoder, [_exporter], settings, 10_000);
            }
            else
            {
                _processor = new BatchSpanProcessor([], settings, 10_000);
            }

            Pipeline = new TracingPipeline(Sampler.Create(sampler, 1), _processor, new SourceMatcher([SourceName]));
            Pipeline.Start();
            Source = new ActivitySource(SourceName, "1.2.3");
        }

        public string SourceName { get; }

        public ActivitySource Source { get; }

        public TracingPipeline Pipeline { get; }

        /// <summary>What the exporter received since the last call.</summary>
        public List<ReceivedSpan> Flush()
        {
            Assert.True(_processor.ForceFlush(10_000));
            var spans = _exporter!.Spans.ToList();
            _exporter.Spans.Clear();
            return spans;
        }

        public void Dispose()
        {
            Pipeline.Dispose();
            _processor.Shutdown(1000);
            Source.Dispose();
        }
    }

    private sealed class RecordingObserver : IDirectSpanObserver
    {
        public List<(string Name, ulong SpanId, TimeSpan Duration)> Seen { get; } = [];

        public void OnEnd(in DirectSpan span, ulong spanId) => Seen.Add((span.Name, spanId, span.Duration));
    }

    /// <summary>A server span as a request makes it: remote sampled parent, tracestate and the random-trace-id flag.</summary>
    private static Activity Request(Harness harness)
    {
        var remote = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded | (ActivityTraceFlags)0x02, "vendor=x", isRemote: true);
        return harness.Source.StartActivity("GET /orders", ActivityKind.Server, remote)!;
    }

    private static string Describe(ReceivedSpan span) => string.Join(
        " | ",
        span.TraceId,
        span.ParentSpanId,
        span.TraceState,
        span.Flags.ToString("x", System.Globalization.CultureInfo.InvariantCulture),
        span.Name,
        span.Kind,
        span.StartTimeUnixNano,
        span.EndTimeUnixNano,
        string.Join(",", span.Attributes.Select(a => a.Key + "=" + a.Value + ":" + a.Value?.GetType().Name)),
        span.DroppedAttributesCount,
        span.StatusCode,
        span.StatusMessage,
        span.ScopeName,
        span.ScopeVersion);

    [Fact]
    public void A_span_written_directly_arrives_as_the_Activity_it_replaces()
    {
        using var harness = new Harness(attributeLimit: 6);
        var observer = new RecordingObserver();
        harness.Pipeline.DirectSpanObserver = observer;
        using var request = Request(harness);
        var parent = request.Context;
        var start = new DateTime(2026, 12, 3, 10, 0, 0, DateTimeKind.Utc).AddTicks(1_234_567);
        var duration = TimeSpan.FromTicks(4_321);

        // Eight attributes with a value (two beyond the limit of six) and one without.
        KeyValuePair<string, object?>[] tags =
        [
            new("db.system.name", "redis"), new("db.operation.name", "GET"), new("no.value", null), new("server.port", 6379),
            new("db.query.text", "GET " + new string('k', 60)), new("flag", true), new("ratio", 0.5), new("beyond.1", 1L), new("beyond.2", "x"),
        ];

        Assert.True(harness.Pipeline.DirectSpans.CanWrite(harness.Source, parent));
        harness.Pipeline.DirectSpans.Write(new DirectSpan(harness.Source, parent, "GET", ActivityKind.Client, start, duration, tags)
        {
            Status = ActivityStatusCode.Error,
            StatusDescription = "WRONGTYPE",
        });
        var direct = Assert.Single(harness.Flush());

        var activity = harness.Source.StartActivity("GET", ActivityKind.Client, parent, tags, startTime: start)!;
        activity.SetStatus(ActivityStatusCode.Error, "WRONGTYPE");
        activity.SetEndTime(start + duration);
        activity.Stop();
        var made = Assert.Single(harness.Flush());

        Assert.Equal(Describe(made), Describe(direct));

        // And what that is, from the specifications rather than from the other path: a child of the
        // request in its trace, sampled with the random flag (0x03), its parent local (0x100 set,
        // 0x200 clear), two attributes dropped, an Error status (2) with its description.
        Assert.Equal(request.TraceId.ToHexString(), direct.TraceId);
        Assert.Equal(request.SpanId.ToHexString(), direct.ParentSpanId);
        Assert.Equal("vendor=x", direct.TraceState);
        Assert.Equal(0x103u, direct.Flags);
        Assert.Equal(3, direct.Kind);
        Assert.Equal(6, direct.Attributes.Count);
        Assert.Equal(2u, direct.DroppedAttributesCount);
        Assert.Equal(2, direct.StatusCode);
        Assert.Equal((ulong)(start - DateTime.UnixEpoch).Ticks * 100, direct.StartTimeUnixNano);
        Assert.Equal(432_100UL, direct.EndTimeUnixNano - direct.StartTimeUnixNano);

        // Its own span id, which the metrics' exemplar is given too.
        Assert.Matches("^[0-9a-f]{16}$", direct.SpanId);
        Assert.NotEqual("0000000000000000", direct.SpanId);
        Assert.NotEqual(made.SpanId, direct.SpanId);
        var seen = Assert.Single(observer.Seen);
        Assert.Equal(direct.SpanId, Convert.ToHexStringLower(BitConverter.GetBytes(seen.SpanId)));
        Assert.Equal(duration, seen.Duration);
    }

    [Fact]
    public void Spans_are_not_written_directly_where_they_would_differ_from_the_Activity()
    {
        using var harness = new Harness();
        using var request = Request(harness);
        var direct = harness.Pipeline.DirectSpans;
        Assert.True(direct.CanWrite(harness.Source, request.Context));

        // A parent not sampled (its trace held or dropped), one in another process, none at all.
        var unsampled = new ActivityContext(request.TraceId, request.SpanId, ActivityTraceFlags.None);
        Assert.False(direct.CanWrite(harness.Source, unsampled));
        var remote = new ActivityContext(request.TraceId, request.SpanId, ActivityTraceFlags.Recorded, null, isRemote: true);
        Assert.False(direct.CanWrite(harness.Source, remote));
        Assert.False(direct.CanWrite(harness.Source, default));

        // The agent's own work (its export), and a source the tracer does not listen to.
        using (Suppression.Begin())
        {
            Assert.False(direct.CanWrite(harness.Source, request.Context));
        }

        using (var other = new ActivitySource("TraceAgent.Test.Direct.Unlistened." + Guid.NewGuid().ToString("N")))
        {
            Assert.False(direct.CanWrite(other, request.Context));
        }

        // Hooks set on the source after it was asked about: an instrumentation's hooks need the Activity.
        harness.Pipeline.SetHooks(harness.SourceName, new SpanHooks { OnStop = static _ => { } });
        Assert.False(direct.CanWrite(harness.Source, request.Context));

        // A sampler that decides children itself, and exporters that are handed Activity objects.
        using var ratio = new Harness("traceidratio");
        using var ratioRequest = Request(ratio);
        Assert.False(ratio.Pipeline.DirectSpans.CanWrite(ratio.Source, ratioRequest.Context));
        using var queued = new Harness(encodeAsTheyEnd: false);
        using var queuedRequest = Request(queued);
        Assert.False(queued.Pipeline.DirectSpans.CanWrite(queued.Source, queuedRequest.Context));
        using var alwaysOn = new Harness("always_on");
        using var alwaysOnRequest = Request(alwaysOn);
        Assert.True(alwaysOn.Pipeline.DirectSpans.CanWrite(alwaysOn.Source, alwaysOnRequest.Context));
    }
}
