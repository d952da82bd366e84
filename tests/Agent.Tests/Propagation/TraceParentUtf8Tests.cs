using System.Diagnostics;
using System.Text;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Propagation;

// The traceparent parser and formatter on UTF-8 bytes, as Kafka headers carry it. The header is
// ASCII by definition (https://www.w3.org/TR/trace-context-2/#traceparent-header-field-values);
// the text rules themselves are covered, for both encodings, by TraceParentTests.
public sealed class TraceParentUtf8Tests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string SpanId = "00f067aa0ba902b7";

    [Theory]
    // A digit, dash or space written as a multi-byte UTF-8 sequence is not that ASCII character:
    // "é" (C3 A9) in the flags, a fullwidth hyphen (EF BC 8D) as a delimiter, a no-break space
    // (C2 A0) around the value, and Latin-1 bytes 0xB0-0xB9 that are not UTF-8 at all.
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736－00f067aa0ba902b7-01")]
    [InlineData("\u00a000-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    public void NonAsciiBytesAreRejected(string header)
    {
        Assert.False(TraceParent.TryParse(Encoding.UTF8.GetBytes(header), out ReadOnlySpan<byte> _, out _, out _));
        Assert.False(TraceParent.TryParseIds(Encoding.UTF8.GetBytes(header), out _, out _, out _));
    }

    [Fact]
    public void LatinOneBytesAreNotDigits()
    {
        byte[] header = Encoding.ASCII.GetBytes($"00-{TraceId}-{SpanId}-01");
        header[54] = 0xB1; // '1' (0x31) with the high bit set.
        Assert.False(TraceParent.TryParse(header, out ReadOnlySpan<byte> _, out _, out _));
        Assert.False(TraceParent.TryParseIds(header, out _, out _, out _));
    }

    /// <summary>
    /// The ids parser checks a 55-byte version-00 value eight digits at a time with carry
    /// arithmetic: every single byte of such a value replaced by every byte value (the bytes just
    /// outside each digit range, the high-bit ones, '-' and OWS among them) gives the answer the
    /// text parser gives, and the same ids. Ids of random digits, each digit its own case.
    /// </summary>
    [Fact]
    public void IdsParserAgreesWithTextParserOnEveryOneByteChange()
    {
        var random = new Random(20261206);
        const string Digits = "0123456789abcdef";
        for (int sample = 0; sample < 4; sample++)
        {
            var traceId = new string(Enumerable.Range(0, 32).Select(_ => Digits[random.Next(16)]).ToArray());
            var spanId = new string(Enumerable.Range(0, 16).Select(_ => Digits[random.Next(16)]).ToArray());
            byte[] valid = Encoding.ASCII.GetBytes($"00-{traceId}-{spanId}-0{sample}");
            int accepted = 0;
            for (int at = 0; at < valid.Length; at++)
            {
                for (int value = 0; value < 256; value++)
                {
                    byte[] header = (byte[])valid.Clone();
                    header[at] = (byte)value;
                    bool asText = TraceParent.TryParse(header, out ReadOnlySpan<byte> traceText, out var spanText, out byte textFlags);
                    bool asIds = TraceParent.TryParseIds(header, out var trace, out var span, out byte flags);
                    Assert.True(asText == asIds, $"{Encoding.Latin1.GetString(header)}: text {asText}, ids {asIds}");
                    if (asText)
                    {
                        accepted++;
                        Assert.Equal(Encoding.ASCII.GetString(traceText), trace.ToHexString());
                        Assert.Equal(Encoding.ASCII.GetString(spanText), span.ToHexString());
                        Assert.Equal(textFlags, flags);
                    }
                }
            }

            // Each digit position accepts the 16 lower-case digits; the version, the dashes and the
            // flags accept what the text rules accept there. Far more than one value per position passes.
            Assert.True(accepted > 48 * 16, $"{accepted} accepted");
        }
    }

    [Theory]
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0G")]
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")]
    public void IdsParserRejectsZeroIdsAndUpperCase(string header) =>
        Assert.False(TraceParent.TryParseIds(Encoding.ASCII.GetBytes(header), out _, out _, out _));

    [Theory]
    [InlineData((byte)0x00, "00")]
    [InlineData((byte)0x01, "01")]
    [InlineData((byte)0x02, "02")]
    [InlineData((byte)0x03, "03")]
    // A version-00 writer sets the flags it does not define to zero.
    [InlineData((byte)0xff, "03")]
    public void FormatWritesVersion00Bytes(byte flags, string expectedFlags)
    {
        Span<byte> destination = stackalloc byte[64];
        destination.Fill((byte)'x');
        TraceParent.Format(ActivityTraceId.CreateFromString(TraceId), ActivitySpanId.CreateFromString(SpanId), flags, destination);
        Assert.Equal($"00-{TraceId}-{SpanId}-{expectedFlags}", Encoding.ASCII.GetString(destination[..TraceParent.Version0Length]));

        // Nothing past the 55 bytes of version 00 is touched.
        Assert.Equal((byte)'x', destination[TraceParent.Version0Length]);
    }

    [Fact]
    public void FormatRefusesTooSmallDestination()
    {
        byte[] destination = new byte[TraceParent.Version0Length - 1];
        Assert.Throws<ArgumentException>(() =>
            TraceParent.Format(ActivityTraceId.CreateFromString(TraceId), ActivitySpanId.CreateFromString(SpanId), 1, destination));
    }

    [Fact]
    public void ParseAndFormatDoNotAllocate()
    {
        const int Operations = 1000;
        byte[] header = Encoding.ASCII.GetBytes($"00-{TraceId}-{SpanId}-01");
        byte[] destination = new byte[TraceParent.Version0Length];
        var traceId = ActivityTraceId.CreateFromString(TraceId);
        var spanId = ActivitySpanId.CreateFromString(SpanId);
        traceId.ToHexString();
        spanId.ToHexString();
        int parsed = RoundTrips(header, destination, traceId, spanId, Operations);

        long before = GC.GetAllocatedBytesForCurrentThread();
        parsed += RoundTrips(header, destination, traceId, spanId, Operations);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(2 * Operations, parsed);
        Assert.Equal(header, destination);
        Assert.True(allocated < 8 * Operations / 10, $"{allocated} bytes for {Operations} round trips");
    }

    private static int RoundTrips(byte[] header, byte[] destination, ActivityTraceId traceId, ActivitySpanId spanId, int operations)
    {
        int parsed = 0;
        for (int i = 0; i < operations; i++)
        {
            if (TraceParent.TryParse(header, out ReadOnlySpan<byte> _, out _, out byte flags))
            {
                parsed++;
                TraceParent.Format(traceId, spanId, flags, destination);
            }
        }

        return parsed;
    }
}
