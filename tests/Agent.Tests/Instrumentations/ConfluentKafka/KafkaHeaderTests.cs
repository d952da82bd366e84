using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation.ConfluentKafka;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Instrumentations.ConfluentKafka;

// The propagation headers as the producer shim writes them into, and the consumer shim reads them
// from, a real librdkafka headers list (the library Confluent.Kafka loads). Expected header values
// follow https://www.w3.org/TR/trace-context-2/#traceparent-header.
public sealed unsafe class KafkaHeaderTests : IDisposable
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ParentSpanId = "00f067aa0ba902b7";

    private readonly TestSpans _spans = new();
    private readonly KafkaTracing _tracing = KafkaTestTracing.Create();
    private readonly List<nint> _lists = [];

    public void Dispose()
    {
        _spans.Dispose();
        foreach (nint list in _lists)
        {
            _tracing.Native.HeadersDestroy(list);
        }
    }

    [Fact]
    public void The_real_library_has_a_known_layout()
    {
        var layout = KafkaLayout.Select(typeof(Library).Assembly, out string reason);
        Assert.NotNull(layout);
        Assert.Equal(string.Empty, reason);
        Assert.StartsWith("produceva", layout.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void Delegate_signatures_are_written_with_short_type_names() =>
        Assert.Equal("IntPtr(IntPtr,Boolean)", KafkaLayout.Signature(typeof(Func<nint, bool, nint>)));

    [Fact]
    public void Traceparent_round_trips_through_a_header_list_the_agent_creates()
    {
        var tracing = _tracing;
        using var span = _spans.Start("send", ActivityKind.Producer, Remote(ActivityTraceFlags.Recorded));
        nint slot = 0;

        var writer = ProducerHeaderWriter.For(tracing, &slot);
        Assert.True(writer.TryWriteTraceParentOnly(span));
        writer.Clear();
        Assert.NotEqual(0, slot);
        _lists.Add(slot);
        Assert.Equal(slot, writer.Created);
        Assert.Equal(ProducerHeaderWriter.Bit(tracing.TraceParentIndex), writer.Written);

        // One header, version 00: the span's trace id and its own span id, sampled, the random flag
        // unset because the parent's was.
        var header = Assert.Single(Headers(tracing, slot));
        Assert.Equal("traceparent", header.Name);
        Assert.Equal($"00-{TraceId}-{span.SpanId.ToHexString()}-01", header.Value);

        Assert.True(ConsumerHeaderReader.TryReadTraceParentOnly(tracing, slot, out var context, out bool found));
        Assert.True(found);
        Assert.Equal(TraceId, context.TraceId.ToHexString());
        Assert.Equal(span.SpanId, context.SpanId);
        Assert.Equal(ActivityTraceFlags.Recorded, context.TraceFlags);
        Assert.True(context.IsRemote);
    }

    [Fact]
    public void The_agents_header_replaces_the_apps_of_the_same_name_and_keeps_the_others()
    {
        var tracing = _tracing;
        nint list = NewList(tracing, ("app-id", "7"), ("traceparent", "not-a-traceparent"));
        using var span = _spans.Start("send", ActivityKind.Producer, Remote(ActivityTraceFlags.None));

        var writer = ProducerHeaderWriter.For(tracing, &list);
        Assert.True(writer.TryWriteTraceParentOnly(span));
        writer.Clear();

        Assert.Equal(0, writer.Created);
        Assert.Equal(
            [("app-id", "7"), ("traceparent", $"00-{TraceId}-{span.SpanId.ToHexString()}-00")],
            Headers(tracing, list));
    }

    [Fact]
    public void Trace_state_goes_through_the_propagator_both_ways()
    {
        var tracing = _tracing;
        using var span = _spans.Start("send", ActivityKind.Producer, Remote(ActivityTraceFlags.Recorded));
        span.TraceStateString = "vendor=abc";
        nint slot = 0;

        var writer = ProducerHeaderWriter.For(tracing, &slot);
        Assert.False(writer.TryWriteTraceParentOnly(span));
        tracing.Propagator.Inject(span.Context, span.Baggage, writer, ProducerHeaderWriter.Set);
        writer.Clear();
        _lists.Add(slot);

        Assert.Equal(
            [("traceparent", $"00-{TraceId}-{span.SpanId.ToHexString()}-01"), ("tracestate", "vendor=abc")],
            Headers(tracing, slot));

        // With trace state present the fast path declines; the propagator reads both headers.
        Assert.False(ConsumerHeaderReader.TryReadTraceParentOnly(tracing, slot, out _, out _));
        var headers = ConsumerHeaderReader.ReadPropagationHeaders(tracing, slot);
        try
        {
            Assert.True(tracing.Propagator.TryExtract(headers, ConsumerHeaderReader.GetHeader, out var context, out _));
            Assert.Equal(TraceId, context.TraceId.ToHexString());
            Assert.Equal(span.SpanId, context.SpanId);
            Assert.Equal("vendor=abc", context.TraceState);
        }
        finally
        {
            headers.Clear();
        }
    }

    [Theory]
    // Flags this version does not define are cleared, as the propagator clears them.
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", ActivityTraceFlags.Recorded)]
    // A higher version is read by its version-00 prefix.
    [InlineData("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", ActivityTraceFlags.Recorded)]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", ActivityTraceFlags.None)]
    public void Consumer_reads_any_valid_traceparent_without_the_propagator(string value, ActivityTraceFlags flags)
    {
        var tracing = _tracing;
        nint list = NewList(tracing, ("traceparent", value));

        Assert.True(ConsumerHeaderReader.TryReadTraceParentOnly(tracing, list, out var context, out bool found));

        Assert.True(found);
        Assert.Equal(TraceId, context.TraceId.ToHexString());
        Assert.Equal(ParentSpanId, context.SpanId.ToHexString());
        Assert.Equal(flags, context.TraceFlags);
    }

    [Theory]
    // All-zero trace id and upper-case hex: left to the propagator, which rejects them too.
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01")]
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")]
    public void Consumer_leaves_invalid_traceparents_to_the_propagator(string value)
    {
        var tracing = _tracing;
        nint list = NewList(tracing, ("traceparent", value));

        Assert.False(ConsumerHeaderReader.TryReadTraceParentOnly(tracing, list, out var context, out bool found));
        Assert.False(found);
        Assert.Equal(default, context);

        var headers = ConsumerHeaderReader.ReadPropagationHeaders(tracing, list);
        try
        {
            Assert.False(tracing.Propagator.TryExtract(headers, ConsumerHeaderReader.GetHeader, out _, out _));
        }
        finally
        {
            headers.Clear();
        }
    }

    [Fact]
    public void Repeated_traceparent_goes_to_the_propagator_and_the_last_one_wins()
    {
        // Kafka headers may repeat; Confluent's own Headers.GetLastBytes reads the last one.
        const string Last = "b7ad6b7169203331";
        var tracing = _tracing;
        nint list = NewList(tracing, ("traceparent", $"00-{TraceId}-{ParentSpanId}-01"), ("traceparent", $"00-{TraceId}-{Last}-01"));

        Assert.False(ConsumerHeaderReader.TryReadTraceParentOnly(tracing, list, out _, out _));

        var headers = ConsumerHeaderReader.ReadPropagationHeaders(tracing, list);
        try
        {
            Assert.Equal(2, headers.Count);
            Assert.True(tracing.Propagator.TryExtract(headers, ConsumerHeaderReader.GetHeader, out var context, out _));
            Assert.Equal(Last, context.SpanId.ToHexString());
        }
        finally
        {
            headers.Clear();
        }
    }

    [Fact]
    public void Writing_traceparent_does_not_allocate()
    {
        // The producer's hot path. (The consumer's read allocates only the two id strings that
        // ActivityTraceId and ActivitySpanId keep, as any ActivityContext made from bytes does.)
        const int Operations = 1000;
        var tracing = _tracing;
        nint list = NewList(tracing, ("app-id", "7"));
        using var span = _spans.Start("send", ActivityKind.Producer, Remote(ActivityTraceFlags.Recorded));
        uint written = Writes(tracing, span, list, Operations);

        long before = GC.GetAllocatedBytesForCurrentThread();
        written |= Writes(tracing, span, list, Operations);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(ProducerHeaderWriter.Bit(tracing.TraceParentIndex), written);
        Assert.Equal(2, Headers(tracing, list).Count);
        Assert.True(allocated < 8 * Operations / 10, $"{allocated} bytes for {Operations} writes");
    }

    private static uint Writes(KafkaTracing tracing, Activity span, nint list, int operations)
    {
        uint written = 0;
        for (int i = 0; i < operations; i++)
        {
            var writer = ProducerHeaderWriter.For(tracing, &list);
            writer.TryWriteTraceParentOnly(span);
            written |= writer.Written;
            writer.Clear();
        }

        return written;
    }

    private static ActivityContext Remote(ActivityTraceFlags flags) =>
        new(ActivityTraceId.CreateFromString(TraceId), ActivitySpanId.CreateFromString(ParentSpanId), flags, isRemote: true);


    private nint NewList(KafkaTracing tracing, params (string Name, string Value)[] headers)
    {
        nint list = tracing.Native.HeadersNew(4);
        Assert.NotEqual(0, list);
        _lists.Add(list);
        foreach (var (name, value) in headers)
        {
            byte[] nameBytes = Encoding.UTF8.GetBytes(name + "\0");
            byte[] valueBytes = Encoding.UTF8.GetBytes(value);
            fixed (byte* n = nameBytes)
            fixed (byte* v = valueBytes)
            {
                Assert.Equal(0, tracing.Native.HeaderAdd(list, n, v, valueBytes.Length));
            }
        }

        return list;
    }

    private static List<(string Name, string Value)> Headers(KafkaTracing tracing, nint list)
    {
        var result = new List<(string, string)>();
        for (int i = 0; tracing.Native.HeaderGetAll(list, i, out byte* name, out byte* value, out nuint size) == 0; i++)
        {
            result.Add((Marshal.PtrToStringUTF8((nint)name)!, Encoding.UTF8.GetString(value, (int)size)));
        }

        return result;
    }
}
