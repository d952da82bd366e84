using System.Diagnostics;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Propagation;

// Expected values come from https://github.com/openzipkin/b3-propagation (README): ids are lower-hex,
// a 64-bit trace id is widened to the 128 bits of W3C by left-padding with zeros.
public sealed class B3PropagationTests
{
    private const string TraceId128 = "80f198ee56343ba864fe8b2a57d3eff7";
    private const string TraceId64 = "463ac35c9f6413ad";
    private const string SpanId = "e457b5a2e4d86bd1";
    private const string ParentSpanId = "05e3ac9a4f6e3b90";

    [Theory]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90", "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1", "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0", "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-00")]
    // Debug implies accept.
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d", "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01")]
    // Defer (no sampling state) cannot be expressed in traceparent: not sampled.
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1", "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-00")]
    [InlineData("463ac35c9f6413ad-e457b5a2e4d86bd1-1", "00-0000000000000000463ac35c9f6413ad-e457b5a2e4d86bd1-01")]
    [InlineData(" 463ac35c9f6413ad-e457b5a2e4d86bd1-1 ", "00-0000000000000000463ac35c9f6413ad-e457b5a2e4d86bd1-01")]
    public void SingleHeaderIsConverted(string header, string expected)
    {
        Assert.True(B3Propagation.TryParseSingle(header, out string? traceParent));
        Assert.Equal(expected, traceParent);
    }

    [Theory]
    // Sampling state only: valid B3, but no identifiers to build a context from.
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("d")]
    [InlineData("")]
    [InlineData("-")]
    // Upper-case, wrong lengths, all zeros.
    [InlineData("80F198EE56343BA864FE8B2A57D3EFF7-e457b5a2e4d86bd1-1")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-E457B5A2E4D86BD1-1")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff-e457b5a2e4d86bd1-1")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7a-e457b5a2e4d86bd1-1")]
    [InlineData("463ac35c9f6413a-e457b5a2e4d86bd1-1")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd-1")]
    [InlineData("00000000000000000000000000000000-e457b5a2e4d86bd1-1")]
    [InlineData("0000000000000000-e457b5a2e4d86bd1-1")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-0000000000000000-1")]
    // Bad sampling state or parent span id, extra fields.
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-2")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-true")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b9")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90-")]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90-1")]
    public void MalformedSingleHeaderIsRejected(string header)
    {
        Assert.False(B3Propagation.TryParseSingle(header, out string? traceParent));
        Assert.Null(traceParent);
    }

    [Theory]
    [InlineData(TraceId128, SpanId, "1", null, "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01")]
    [InlineData(TraceId128, SpanId, "0", null, "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-00")]
    [InlineData(TraceId128, SpanId, "true", null, "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01")]
    [InlineData(TraceId128, SpanId, "false", null, "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-00")]
    [InlineData(TraceId128, SpanId, null, null, "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-00")]
    // X-B3-Flags: 1 is debug, which implies accept.
    [InlineData(TraceId128, SpanId, null, "1", "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01")]
    [InlineData(TraceId128, SpanId, "0", "1", "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01")]
    [InlineData(TraceId64, SpanId, "1", null, "00-0000000000000000463ac35c9f6413ad-e457b5a2e4d86bd1-01")]
    public void MultipleHeadersAreConverted(string traceId, string spanId, string? sampled, string? flags, string expected)
    {
        Assert.True(B3Propagation.TryParseMulti(traceId, spanId, sampled, flags, out string? traceParent));
        Assert.Equal(expected, traceParent);
    }

    [Theory]
    [InlineData(null, SpanId)]
    [InlineData(TraceId128, null)]
    [InlineData("80F198EE56343BA864FE8B2A57D3EFF7", SpanId)]
    [InlineData("80f198ee56343ba864fe8b2a57d3eff", SpanId)]
    [InlineData("0000000000000000", SpanId)]
    [InlineData(TraceId128, "0000000000000000")]
    [InlineData(TraceId128, "e457b5a2e4d86bd")]
    [InlineData(TraceId128, "xyz")]
    public void MalformedMultipleHeadersAreRejected(string? traceId, string? spanId)
    {
        Assert.False(B3Propagation.TryParseMulti(traceId, spanId, "1", null, out string? traceParent));
        Assert.Null(traceParent);
    }

    [Fact]
    public void SingleHeaderTakesPrecedenceOverMultiple()
    {
        var carrier = new HeaderCarrier()
            .Add("b3", $"{TraceId128}-{SpanId}-1")
            .Add("X-B3-TraceId", TraceId64)
            .Add("X-B3-SpanId", ParentSpanId)
            .Add("X-B3-Sampled", "0");

        Assert.True(B3Propagation.TryExtract(new PropagatorGetterReader(carrier, HeaderCarrier.Getter), out string? traceParent));
        Assert.Equal($"00-{TraceId128}-{SpanId}-01", traceParent);
    }

    [Fact]
    public void InvalidSingleHeaderFallsBackToMultiple()
    {
        var carrier = new HeaderCarrier()
            .Add("b3", "0")
            .Add("X-B3-TraceId", TraceId64)
            .Add("X-B3-SpanId", SpanId)
            .Add("X-B3-ParentSpanId", "not even hex")
            .Add("X-B3-Sampled", "1");

        Assert.True(B3Propagation.TryExtract(new PropagatorGetterReader(carrier, HeaderCarrier.Getter), out string? traceParent));
        Assert.Equal($"00-0000000000000000{TraceId64}-{SpanId}-01", traceParent);
    }

    [Fact]
    public void LowerCaseNamesAreFoundInCaseSensitiveCarriers()
    {
        var carrier = new HeaderCarrier(caseSensitive: true)
            .Add("x-b3-traceid", TraceId128)
            .Add("x-b3-spanid", SpanId)
            .Add("x-b3-flags", "1");

        Assert.True(B3Propagation.TryExtract(new DelegateHeaderReader<HeaderCarrier>(carrier, HeaderCarrier.EnumerableGetter), out string? traceParent));
        Assert.Equal($"00-{TraceId128}-{SpanId}-01", traceParent);
    }

    [Fact]
    public void FirstValueOfAMultiHeaderWins()
    {
        var carrier = new HeaderCarrier()
            .Add("X-B3-TraceId", TraceId128)
            .Add("X-B3-TraceId", TraceId64)
            .Add("X-B3-SpanId", SpanId)
            .Add("X-B3-Sampled", "1")
            .Add("X-B3-Sampled", "0");

        Assert.True(B3Propagation.TryExtract(new PropagatorGetterReader(carrier, HeaderCarrier.Getter), out string? traceParent));
        Assert.Equal($"00-{TraceId128}-{SpanId}-01", traceParent);
    }

    [Theory]
    [InlineData(true, "1")]
    [InlineData(false, "0")]
    public void SingleHeaderRoundTrips(bool sampled, string state)
    {
        var traceId = ActivityTraceId.CreateFromString(TraceId128);
        var spanId = ActivitySpanId.CreateFromString(SpanId);

        string header = B3Propagation.FormatSingle(traceId, spanId, sampled);

        Assert.Equal($"{TraceId128}-{SpanId}-{state}", header);
        Assert.True(B3Propagation.TryParseSingle(header, out string? traceParent));
        Assert.Equal($"00-{TraceId128}-{SpanId}-0{state}", traceParent);
    }

    [Theory]
    [InlineData(true, "1")]
    [InlineData(false, "0")]
    public void MultipleHeadersRoundTrip(bool sampled, string state)
    {
        var carrier = new HeaderCarrier();
        var traceId = ActivityTraceId.CreateFromString("0000000000000000" + TraceId64);
        var spanId = ActivitySpanId.CreateFromString(SpanId);

        B3Propagation.InjectMulti(new PropagatorSetterWriter(carrier, HeaderCarrier.Setter), traceId, spanId, sampled);

        Assert.Equal(3, carrier.Count);
        Assert.Equal("0000000000000000" + TraceId64, carrier.Get("X-B3-TraceId"));
        Assert.Equal(SpanId, carrier.Get("X-B3-SpanId"));
        Assert.Equal(state, carrier.Get("X-B3-Sampled"));
        Assert.True(B3Propagation.TryExtract(new PropagatorGetterReader(carrier, HeaderCarrier.Getter), out string? traceParent));
        Assert.Equal($"00-0000000000000000{TraceId64}-{SpanId}-0{state}", traceParent);
    }
}
