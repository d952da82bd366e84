using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Propagation;
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

        public Harness(string sampler = "parentbased_always_on", int attributeLimit = 128, bool encodeAsTheyEnd = true, double ratio = 1, SamplingPolicySettings? policies = null)
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

            Pipeline = new TracingPipeline(Sampler.Create(sampler, ratio), _processor, new SourceMatcher([SourceName]), policies);
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
        public List<(string Name, ulong SpanId, TimeSpan Duration, bool Unsampled)> Seen { get; } = [];

        public void OnEnd(in DirectSpan span, ulong spanId) => Seen.Add((span.Name, spanId, span.Duration, span.Unsampled));
    }

    private static string Hex(ulong spanId) => Convert.ToHexStringLower(BitConverter.GetBytes(spanId));

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

    [Fact]
    public void A_span_started_directly_under_a_sampled_parent_has_the_context_and_the_span_its_Activity_would_have()
    {
        using var harness = new Harness();
        var observer = new RecordingObserver();
        harness.Pipeline.DirectSpanObserver = observer;
        using var request = Request(harness);
        var start = new DateTime(2026, 12, 4, 10, 0, 0, DateTimeKind.Utc);
        var duration = TimeSpan.FromTicks(7_000);
        KeyValuePair<string, object?>[] tags = [new("messaging.system", "kafka"), new("messaging.destination.name", "orders"), new("messaging.kafka.offset", 42L)];

        Assert.True(harness.Pipeline.DirectSpans.TryStart(harness.Source, request, "send orders", ActivityKind.Producer, out var direct));
        using (var made = harness.Source.StartActivity("send orders", ActivityKind.Producer, default(ActivityContext), tags, startTime: start)!)
        {
            // What travels downstream: the runtime's traceparent of the Activity (the agent marks the
            // random flag on outgoing spans as they start) and its tracestate.
            Assert.Equal(request.TraceId, direct.Context.TraceId);
            Assert.Equal(made.TraceStateString, direct.Context.TraceState);
            Assert.Equal(TraceParent.FromActivity(made)[..36], TraceParent.Format(direct.Context.TraceId, direct.Context.SpanId, (byte)direct.Context.TraceFlags)[..36]);
            Assert.Equal(TraceParent.FromActivity(made)[^3..], TraceParent.Format(direct.Context.TraceId, direct.Context.SpanId, (byte)direct.Context.TraceFlags)[^3..]);
            Assert.Equal(Hex(direct.SpanId), direct.Context.SpanId.ToHexString());
            Assert.Null(direct.SamplingReason);
            made.SetEndTime(start + duration);
        }

        var fromActivity = Assert.Single(harness.Flush());
        harness.Pipeline.DirectSpans.Write(new DirectSpan(harness.Source, direct.Parent, "send orders", ActivityKind.Producer, start, duration, tags), direct.SpanId);
        var written = Assert.Single(harness.Flush());

        Assert.Equal(Describe(fromActivity), Describe(written));
        Assert.Equal(direct.Context.SpanId.ToHexString(), written.SpanId);
        Assert.Equal(request.SpanId.ToHexString(), written.ParentSpanId);
        Assert.Equal(0x103u, written.Flags);
        Assert.Equal(4, written.Kind);
        Assert.Equal((direct.SpanId, false), (Assert.Single(observer.Seen).SpanId, observer.Seen[0].Unsampled));
    }

    [Fact]
    public void A_root_started_directly_is_decided_by_its_trace_id_as_the_sampler_decides_an_Activity()
    {
        using var harness = new Harness("parentbased_traceidratio", ratio: 0.25);
        var observer = new RecordingObserver();
        harness.Pipeline.DirectSpanObserver = observer;
        var reference = new TraceIdRatioSampler(0.25);
        var sampled = 0;
        const int Roots = 2000;
        for (var i = 0; i < Roots; i++)
        {
            Assert.True(harness.Pipeline.DirectSpans.TryStart(harness.Source, null, "send orders", ActivityKind.Producer, out var root));
            var expected = reference.ShouldSample(new SamplingParameters(default, root.Context.TraceId, null, "send orders", ActivityKind.Producer, harness.Source, null));
            Assert.Equal(expected.Sampled, root.Sampled);
            Assert.Equal(expected.TraceState, root.Context.TraceState);

            // The runtime makes a root's trace id at random: the random-trace-id flag, sampled or not.
            Assert.Equal(expected.Sampled ? "03" : "02", ((byte)root.Context.TraceFlags).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(default, root.Parent.SpanId);
            Assert.Equal(root.Context.TraceId, root.Parent.TraceId);
            sampled += root.Sampled ? 1 : 0;
            harness.Pipeline.DirectSpans.Write(new DirectSpan(harness.Source, root.Parent, "send orders", ActivityKind.Producer, DateTime.UtcNow, TimeSpan.FromTicks(10), []) { Unsampled = !root.Sampled }, root.SpanId);
        }

        // Ratio 0.25 over 2000 roots: 500 expected, 4.4 standard deviations either side.
        Assert.InRange(sampled, 415, 585);

        // Only the sampled ones are exported, as roots (no parent span id, local: 0x100) with their
        // th in the ot tracestate member; every one is measured.
        var exported = harness.Flush();
        Assert.Equal(sampled, exported.Count);
        Assert.All(exported, span =>
        {
            Assert.True(string.IsNullOrEmpty(span.ParentSpanId));
            Assert.Equal(0x103u, span.Flags);
            Assert.StartsWith("ot=th:c", span.TraceState, StringComparison.Ordinal);
        });
        Assert.Equal(Roots, observer.Seen.Count);
        Assert.Equal(Roots - sampled, observer.Seen.Count(s => s.Unsampled));
    }

    [Fact]
    public void A_root_started_directly_takes_a_token_of_the_rate_limit_and_carries_the_sampling_reason()
    {
        using var harness = new Harness(policies: new SamplingPolicySettings(5, [], false, null, SamplingPolicySettings.DefaultKeepMaxBufferedSpans));
        var decided = new List<DirectStart>();
        for (var i = 0; i < 50; i++)
        {
            Assert.True(harness.Pipeline.DirectSpans.TryStart(harness.Source, null, "send orders", ActivityKind.Producer, out var root));
            decided.Add(root);
        }

        // A burst of 50 in far less than a second: the bucket's 5, the rest not sampled.
        var kept = decided.Where(d => d.Sampled).ToList();
        Assert.InRange(kept.Count, 5, 6);
        Assert.All(kept, d => Assert.Equal("ratio", d.SamplingReason));
        Assert.All(decided.Where(d => !d.Sampled), d => Assert.Null(d.SamplingReason));
        Assert.Equal("traceagent.sampling.reason", DirectStart.SamplingReasonAttribute);
    }

    [Fact]
    public void Spans_are_not_started_directly_where_their_Activity_would_differ()
    {
        using var harness = new Harness();
        using var request = Request(harness);
        var direct = harness.Pipeline.DirectSpans;
        Assert.True(direct.TryStart(harness.Source, request, "send", ActivityKind.Producer, out _));

        // An unsampled parent: whether its child is made at all is the Activity path's decision.
        using (var unsampled = harness.Source.StartActivity("GET /x", ActivityKind.Server, new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, null, isRemote: true))!)
        {
            Assert.False(unsampled.Recorded);
            Assert.False(direct.TryStart(harness.Source, unsampled, "send", ActivityKind.Producer, out _));
        }

        // A parent that is not W3C.
        Activity.Current = null;
        using (var hierarchical = new Activity("legacy").SetIdFormat(ActivityIdFormat.Hierarchical).Start())
        {
            Assert.Equal(ActivityIdFormat.Hierarchical, hierarchical.IdFormat);
            hierarchical.ActivityTraceFlags = ActivityTraceFlags.Recorded;
            Assert.False(direct.TryStart(harness.Source, hierarchical, "send", ActivityKind.Producer, out _));
        }

        using (Suppression.Begin())
        {
            Assert.False(direct.TryStart(harness.Source, request, "send", ActivityKind.Producer, out _));
            Assert.False(direct.TryStart(harness.Source, null, "send", ActivityKind.Producer, out _));
        }

        using (var other = new ActivitySource("TraceAgent.Test.Direct.Unlistened." + Guid.NewGuid().ToString("N")))
        {
            Assert.False(direct.TryStart(other, request, "send", ActivityKind.Producer, out _));
        }

        harness.Pipeline.SetHooks(harness.SourceName, new SpanHooks { OnStop = static _ => { } });
        Assert.False(direct.TryStart(harness.Source, request, "send", ActivityKind.Producer, out _));

        // Roots whose trace may be held until it ends (keep errors): the keeper needs the Activity.
        using var keeping = new Harness(policies: new SamplingPolicySettings(null, [], true, null, SamplingPolicySettings.DefaultKeepMaxBufferedSpans));
        Assert.False(keeping.Pipeline.DirectSpans.TryStart(keeping.Source, null, "send", ActivityKind.Producer, out _));

        // A sampler that decides children itself, and exporters that are handed Activity objects.
        using var ratio = new Harness("traceidratio");
        using var ratioRequest = Request(ratio);
        Assert.False(ratio.Pipeline.DirectSpans.TryStart(ratio.Source, ratioRequest, "send", ActivityKind.Producer, out _));
        Assert.True(ratio.Pipeline.DirectSpans.TryStart(ratio.Source, null, "send", ActivityKind.Producer, out _));
        using var queued = new Harness(encodeAsTheyEnd: false);
        Assert.False(queued.Pipeline.DirectSpans.TryStart(queued.Source, null, "send", ActivityKind.Producer, out _));
    }
}
