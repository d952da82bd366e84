using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Tracing;

namespace TraceAgent.Tests.Export;

/// <summary>The encoder's output, read back by the receiver's decoder, which was written separately from the OTLP schema.</summary>
public sealed class OtlpTraceEncoderTests
{
    private static readonly SpanLimits NoLimits = new(128, null, 128, 128, 128, 128);

    private static List<ReceivedSpan> RoundTrip(IReadOnlyList<Activity> batch, SpanLimits? limits = null)
    {
        var encoder = new OtlpTraceEncoder([new("service.name", "encoder-test"), new("process.pid", 42L)], limits ?? NoLimits);
        var writer = new ProtoWriter(16);
        encoder.Encode(writer, batch);
        return OtlpDecoder.DecodeTraces(writer.WrittenSpan);
    }

    private static Activity Make(string name)
    {
        var activity = new Activity(name);
        activity.SetIdFormat(ActivityIdFormat.W3C);
        activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        activity.Start();
        activity.Stop();
        return activity;
    }

    /// <summary>
    /// Attribute values are primitives or arrays of them (the OpenTelemetry API); an array inside an
    /// array is written as its text, as any other element of a type without its own encoding, so an
    /// array that holds itself ends the encoder's walk instead of the process's stack.
    /// </summary>
    [Fact]
    public void An_array_inside_an_array_is_written_as_its_text_even_one_that_holds_itself()
    {
        var cycle = new object?[] { "x", null, 7 };
        cycle[1] = cycle;
        var activity = new Activity("arrays");
        activity.SetIdFormat(ActivityIdFormat.W3C);
        activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        activity.Start();
        activity.SetTag("cycle", cycle);
        activity.SetTag("nested", new object[] { new[] { 1, 2 }, "y" });
        activity.Stop();

        var span = Assert.Single(RoundTrip([activity]));
        Assert.Equal(new object?[] { "x", "System.Object[]", 7L }, span.Attribute("cycle"));
        Assert.Equal(new object?[] { "System.Int32[]", "y" }, span.Attribute("nested"));
    }

    /// <summary>
    /// Activity takes any key: a null one (which OTLP cannot carry) is dropped and counted, the
    /// span kept; an empty one and one with half a surrogate pair are written as they can be.
    /// </summary>
    [Fact]
    public void A_null_tag_key_is_dropped_and_counted_and_odd_keys_and_names_are_written()
    {
        var activity = new Activity("odd");
        activity.SetIdFormat(ActivityIdFormat.W3C);
        activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        activity.Start();
        activity.AddTag(null!, "null key");
        activity.AddTag("", "empty key");
        activity.AddTag("lone\ud800", "x");
        activity.AddEvent(new ActivityEvent(null!));
        activity.Stop();

        var span = Assert.Single(RoundTrip([activity]));
        Assert.Equal("odd", span.Name);
        Assert.Equal(1u, span.DroppedAttributesCount);
        Assert.Equal(["", "lone\ufffd"], span.Attributes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("empty key", span.Attribute(""));
        Assert.Equal("", Assert.Single(span.Events).Name);
    }

    [Fact]
    public void Every_field_survives_the_round_trip()
    {
        using var recorded = new RecordedSources(new ActivitySource("encoder.source", "9.9.9"));
        var source = recorded.Source;

        var remoteParent = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, "k=v", isRemote: true);
        var linked = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, "a=b");
        var activity = source.StartActivity("GET /orders/{id}", ActivityKind.Server, remoteParent, links: [new ActivityLink(linked, new ActivityTagsCollection { ["link.attr"] = "x" })])!;
        activity.SetTag("string", "text ünïcode");
        activity.SetTag("int", 7);
        activity.SetTag("long", 1L << 40);
        activity.SetTag("double", 2.5);
        activity.SetTag("bool", true);
        activity.SetTag("strings", new[] { "a", "b" });
        activity.SetTag("longs", new[] { 1L, 2L });
        activity.AddEvent(new ActivityEvent("something", tags: new ActivityTagsCollection { ["event.attr"] = 3 }));
        activity.SetStatus(ActivityStatusCode.Error, "it broke");
        activity.Stop();

        var span = Assert.Single(RoundTrip([activity]));
        Assert.Equal(activity.TraceId.ToHexString(), span.TraceId);
        Assert.Equal(activity.SpanId.ToHexString(), span.SpanId);
        Assert.Equal(remoteParent.SpanId.ToHexString(), span.ParentSpanId);
        Assert.Equal("k=v", span.TraceState);
        Assert.Equal("GET /orders/{id}", span.Name);
        Assert.Equal(SpanKinds.Server, span.Kind);
        Assert.Equal((ulong)(activity.StartTimeUtc - DateTime.UnixEpoch).Ticks * 100, span.StartTimeUnixNano);
        Assert.Equal(span.StartTimeUnixNano + (ulong)activity.Duration.Ticks * 100, span.EndTimeUnixNano);
        Assert.Equal("text ünïcode", span.Attribute("string"));
        Assert.Equal(7L, span.Attribute("int"));
        Assert.Equal(1L << 40, span.Attribute("long"));
        Assert.Equal(2.5, span.Attribute("double"));
        Assert.Equal(true, span.Attribute("bool"));
        Assert.Equal(new object?[] { "a", "b" }, span.Attribute("strings"));
        Assert.Equal(new object?[] { 1L, 2L }, span.Attribute("longs"));
        var e = Assert.Single(span.Events);
        Assert.Equal("something", e.Name);
        Assert.Equal(3L, e.Attributes["event.attr"]);
        var link = Assert.Single(span.Links);
        Assert.Equal(linked.TraceId.ToHexString(), link.TraceId);
        Assert.Equal("a=b", link.TraceState);
        Assert.Equal("x", link.Attributes["link.attr"]);
        Assert.Equal(2, span.StatusCode);
        Assert.Equal("it broke", span.StatusMessage);

        // Flags: sampled, and the parent is known to be remote (HAS_IS_REMOTE | IS_REMOTE).
        Assert.Equal(0x301u, span.Flags);
        Assert.Equal("encoder.source", span.ScopeName);
        Assert.Equal("9.9.9", span.ScopeVersion);
        Assert.Equal("encoder-test", span.ResourceAttributes["service.name"]);
        Assert.Equal(42L, span.ResourceAttributes["process.pid"]);
    }

    [Fact]
    public void Limits_drop_and_count_and_truncate()
    {
        var activity = Make("limited");
        for (var i = 0; i < 10; i++)
        {
            activity.SetTag("attr" + i, new string('v', 50));
            activity.AddEvent(new ActivityEvent("e" + i));
        }

        var span = Assert.Single(RoundTrip([activity], new SpanLimits(4, 10, 3, 128, 128, 128)));
        Assert.Equal(4, span.Attributes.Count);
        Assert.Equal(6u, span.DroppedAttributesCount);
        Assert.All(span.Attributes.Values, v => Assert.Equal(new string('v', 10), v));
        Assert.Equal(3, span.Events.Count);
        Assert.Equal(7u, span.DroppedEventsCount);
    }

    [Fact]
    public void Attributes_written_as_the_span_is_encoded_follow_its_own_under_the_same_limits()
    {
        var activity = Make("written");
        activity.SetTag("http.route", "/set/by/app");
        activity.SetTag("own", new string('o', 20));
        static void Write(Activity activity, ref SpanAttributes attributes)
        {
            attributes.Add("http.route", "/written");
            attributes.Add("http.response.status_code", 200);
            attributes.Add("absent", null);
            attributes.Add("text", new string('t', 20));
            attributes.Add("strings", new[] { "a", "b" });
            attributes.Add("over.limit", "x");
        }

        var encoder = new OtlpTraceEncoder([new("service.name", "s")], new SpanLimits(5, 10, 128, 128, 128, 128));
        var holder = new EncodedSpan();
        encoder.Encode(activity, holder, Write);
        var writer = new ProtoWriter(16);
        encoder.Encode(writer, [holder]);

        var span = Assert.Single(OtlpDecoder.DecodeTraces(writer.WrittenSpan));

        // The Activity's own value of a key wins; a null is no attribute; the count limit and the
        // length limit take both sets together, and what is over the count is counted as dropped.
        Assert.Equal(["http.route", "own", "http.response.status_code", "text", "strings"], span.Attributes.Keys);
        Assert.Equal("/set/by/ap", span.Attribute("http.route"));
        Assert.Equal(new string('o', 10), span.Attribute("own"));
        Assert.Equal(200L, span.Attribute("http.response.status_code"));
        Assert.Equal(new string('t', 10), span.Attribute("text"));
        Assert.Equal(new object?[] { "a", "b" }, span.Attribute("strings"));
        Assert.Equal(1u, span.DroppedAttributesCount);

        // With no writer the same span has its own attributes only.
        encoder.Encode(activity, holder);
        writer.Reset();
        encoder.Encode(writer, [holder]);
        Assert.Equal(["http.route", "own"], Assert.Single(OtlpDecoder.DecodeTraces(writer.WrittenSpan)).Attributes.Keys);
    }

    [Fact]
    public void Spans_are_grouped_by_source_and_a_reused_writer_gives_the_same_bytes()
    {
        using var sources = new RecordedSources(new ActivitySource("source.a"), new ActivitySource("source.b"));
        var (a, b) = (sources[0], sources[1]);
        var batch = new List<Activity>();
        for (var i = 0; i < 600; i++)
        {
            var activity = (i % 2 == 0 ? a : b).StartActivity("span" + i)!;
            activity.Stop();
            batch.Add(activity);
        }

        var encoder = new OtlpTraceEncoder([new("service.name", "s")], NoLimits);
        var writer = new ProtoWriter(16);
        encoder.Encode(writer, batch);
        var first = writer.WrittenSpan.ToArray();
        writer.Reset();
        encoder.Encode(writer, batch);
        Assert.Equal(first, writer.WrittenSpan.ToArray());

        var spans = OtlpDecoder.DecodeTraces(first);
        Assert.Equal(600, spans.Count);
        Assert.Equal(300, spans.Count(s => s.ScopeName == "source.a"));
        Assert.Equal(batch.Select(x => x.SpanId.ToHexString()).Order(), spans.Select(s => s.SpanId).Order());
    }

    [Fact]
    public void Spans_encoded_as_they_end_on_several_threads_make_the_same_request_as_their_activities()
    {
        using var sources = new RecordedSources(new ActivitySource("source.a", "1.0"), new ActivitySource("source.b"));
        var (a, b) = (sources[0], sources[1]);
        var batch = new List<Activity>();
        for (var i = 0; i < 200; i++)
        {
            var activity = (i % 3 == 0 ? b : a).StartActivity("span" + i, ActivityKind.Client)!;
            activity.SetTag("http.request.method", "GET");
            activity.SetTag("index", i);
            activity.SetTag("long.text", new string('x', i * 3));
            if (i % 10 == 0)
            {
                activity.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection { ["exception.type"] = "E" }));
                activity.SetStatus(ActivityStatusCode.Error, "failed " + i);
            }

            activity.Stop();
            batch.Add(activity);
        }

        var encoder = new OtlpTraceEncoder([new("service.name", "s")], new SpanLimits(128, 300, 128, 128, 128, 128));
        var expected = new ProtoWriter(16);
        encoder.Encode(expected, batch);

        // Each span encoded on a thread of its own choosing, into holders reused from a larger span.
        var holders = batch.Select(_ => new EncodedSpan()).ToArray();
        Parallel.For(0, batch.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => encoder.Encode(batch[(i + 7) % batch.Count], holders[i]));
        Parallel.For(0, batch.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => encoder.Encode(batch[i], holders[i]));
        var actual = new ProtoWriter(16);
        encoder.Encode(actual, holders);

        Assert.Equal(expected.WrittenSpan.ToArray(), actual.WrittenSpan.ToArray());
        var spans = OtlpDecoder.DecodeTraces(actual.WrittenSpan);
        Assert.Equal(200, spans.Count);
        Assert.Equal(new string('x', 300), spans.Single(s => s.Name == "span199").Attribute("long.text"));
        Assert.Equal("failed 10", spans.Single(s => s.Name == "span10").StatusMessage);
    }

    [Fact]
    public void Attributes_that_repeat_are_encoded_the_same_from_the_first_span_to_the_last()
    {
        // The same string objects and numbers span after span: the first span's attributes are
        // encoded in full, the second's are kept, the later ones are copied from what was kept.
        // Values made per span (new strings) go the full way every time, through the same slots.
        const string Route = "/orders/{id}";
        var longConstant = new string('c', 60);
        var tooLongToKeep = new string('d', 200);
        var nonAscii = "wert ünïcode";
        var nonAsciiOutgrowing = new string('a', 126) + "é";
        var ascii127 = new string('b', 127);
        var encoder = new OtlpTraceEncoder([new("service.name", "s")], NoLimits);
        var holders = new List<EncodedSpan>();
        for (var i = 0; i < 40; i++)
        {
            var activity = Make("span" + i);
            activity.SetTag("http.route", Route);
            activity.SetTag("server.port", 8080);
            activity.SetTag("big", 1L << 40);
            activity.SetTag("yes", true);
            activity.SetTag("no", false);
            activity.SetTag("long.constant", longConstant);
            activity.SetTag("too.long", tooLongToKeep);
            activity.SetTag("non.ascii", nonAscii);
            activity.SetTag("outgrowing", nonAsciiOutgrowing);
            activity.SetTag("ascii127", ascii127);
            activity.SetTag("url.path", "/orders/" + i);
            activity.SetTag("status", 200 + (i % 3));
            activity.SetTag("ratio", 0.5);
            var holder = new EncodedSpan();
            encoder.Encode(activity, holder);
            holders.Add(holder);
        }

        var request = new ProtoWriter(16);
        encoder.Encode(request, holders);
        var spans = OtlpDecoder.DecodeTraces(request.WrittenSpan);
        Assert.Equal(40, spans.Count);
        for (var i = 0; i < 40; i++)
        {
            var span = spans.Single(s => s.Name == "span" + i);
            Assert.Equal(13, span.Attributes.Count);
            Assert.Equal(Route, span.Attribute("http.route"));
            Assert.Equal(8080L, span.Attribute("server.port"));
            Assert.Equal(1L << 40, span.Attribute("big"));
            Assert.Equal(true, span.Attribute("yes"));
            Assert.Equal(false, span.Attribute("no"));
            Assert.Equal(longConstant, span.Attribute("long.constant"));
            Assert.Equal(tooLongToKeep, span.Attribute("too.long"));
            Assert.Equal(nonAscii, span.Attribute("non.ascii"));
            Assert.Equal(nonAsciiOutgrowing, span.Attribute("outgrowing"));
            Assert.Equal(ascii127, span.Attribute("ascii127"));
            Assert.Equal("/orders/" + i, span.Attribute("url.path"));
            Assert.Equal(200L + (i % 3), span.Attribute("status"));
            Assert.Equal(0.5, span.Attribute("ratio"));
        }
    }

    [Fact]
    public void A_kept_attribute_is_not_reused_under_another_length_limit()
    {
        // Two encoders on one thread (as in a process with two pipelines, or tests) share the
        // thread's table of kept attributes: a value truncated for one must not reach the other.
        var value = new string('v', 50);
        var limited = new OtlpTraceEncoder([new("service.name", "s")], new SpanLimits(128, 10, 128, 128, 128, 128));
        var unlimited = new OtlpTraceEncoder([new("service.name", "s")], NoLimits);
        for (var i = 0; i < 4; i++)
        {
            foreach (var (encoder, expected) in new[] { (limited, new string('v', 10)), (unlimited, value) })
            {
                var activity = Make("span");
                activity.SetTag("text", value);
                var holder = new EncodedSpan();
                encoder.Encode(activity, holder);
                var request = new ProtoWriter(16);
                encoder.Encode(request, [holder]);
                Assert.Equal(expected, Assert.Single(OtlpDecoder.DecodeTraces(request.WrittenSpan)).Attribute("text"));
            }
        }
    }
}
