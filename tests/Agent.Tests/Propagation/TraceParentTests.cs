using System.Diagnostics;
using System.Text;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Propagation;

// Expected values come from https://www.w3.org/TR/trace-context-2/#traceparent-header and the
// W3C trace-context test suite (test/test.py).
public sealed class TraceParentTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string SpanId = "00f067aa0ba902b7";

    [Theory]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")]
    // Flags are a bit field: sampled (01) and, Level 2, random (02) are kept; unknown bits are set to zero.
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0a", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")]
    // Leading and trailing OWS (test_traceparent_ows_handling).
    [InlineData(" 00-12345678901234567890123456789012-1234567890123456-01", "00-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("\t00-12345678901234567890123456789012-1234567890123456-01", "00-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-01 ", "00-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("\t 00-12345678901234567890123456789012-1234567890123456-01 \t", "00-12345678901234567890123456789012-1234567890123456-01")]
    // Higher versions are parsed by the version-00 prefix and downgraded to 00 (test_traceparent_version_0xcc).
    [InlineData("cc-12345678901234567890123456789012-1234567890123456-01", "00-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like", "00-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("01-12345678901234567890123456789012-1234567890123456-00-", "00-12345678901234567890123456789012-1234567890123456-00")]
    [InlineData("fe-12345678901234567890123456789012-1234567890123456-01-x", "00-12345678901234567890123456789012-1234567890123456-01")]
    public void ValidValuesNormalizeToVersion00(string header, string expected)
    {
        Assert.True(TraceParent.TryNormalize(header, out string? normalized));
        Assert.Equal(expected, normalized);

        // The UTF-8 parser (Kafka headers) follows the same rules and finds the same fields.
        Assert.True(TraceParent.TryParse(Encoding.UTF8.GetBytes(header), out ReadOnlySpan<byte> traceId, out ReadOnlySpan<byte> parentId, out byte flags));
        Assert.Equal(expected.Substring(3, 32), Encoding.ASCII.GetString(traceId));
        Assert.Equal(expected.Substring(36, 16), Encoding.ASCII.GetString(parentId));
        Assert.Equal(Convert.ToByte(expected.Substring(53, 2), 16), flags & TraceParent.KnownFlags);

        // And so does the one that makes the ids (a Kafka consumer's context).
        Assert.True(TraceParent.TryParseIds(Encoding.UTF8.GetBytes(header), out ActivityTraceId trace, out ActivitySpanId parent, out byte idFlags));
        Assert.Equal(expected.Substring(3, 32), trace.ToHexString());
        Assert.Equal(expected.Substring(36, 16), parent.ToHexString());
        Assert.Equal(flags, idFlags);
    }

    [Fact]
    public void AlreadyNormalizedValueIsReturnedWithoutCopy()
    {
        string header = $"00-{TraceId}-{SpanId}-01";
        Assert.True(TraceParent.TryNormalize(header, out string? normalized));
        Assert.Same(header, normalized);
    }

    [Fact]
    public void ParseExposesFields()
    {
        Assert.True(TraceParent.TryParse($"00-{TraceId}-{SpanId}-01", out ReadOnlySpan<char> traceId, out ReadOnlySpan<char> parentId, out byte flags));
        Assert.Equal(TraceId, traceId.ToString());
        Assert.Equal(SpanId, parentId.ToString());
        Assert.Equal(1, flags);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("00")]
    [InlineData("00-")]
    // Version 00 must be exactly 55 characters (test_traceparent_version_0x00).
    [InlineData("00-12345678901234567890123456789012-1234567890123456-01.")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like")]
    // Version ff is invalid (test_traceparent_version_0xff).
    [InlineData("ff-12345678901234567890123456789012-1234567890123456-01")]
    // A higher version must have '-' or the end after the flags (test_traceparent_version_0xcc).
    [InlineData("cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like")]
    // A higher version shorter than 55 characters.
    [InlineData("cc-12345678901234567890123456789012-1234567890123456-0")]
    // Illegal version characters, too long or too short.
    [InlineData(".0-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("0.-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("000-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("0-12345678901234567890123456789012-1234567890123456-01")]
    // Upper-case hex is invalid everywhere.
    [InlineData("0A-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A")]
    // All-zero ids are invalid.
    [InlineData("00-00000000000000000000000000000000-1234567890123456-01")]
    [InlineData("00-12345678901234567890123456789012-0000000000000000-01")]
    [InlineData("cc-00000000000000000000000000000000-1234567890123456-01")]
    // Illegal characters, wrong lengths of trace-id, parent-id and flags.
    [InlineData("00-.2345678901234567890123456789012-1234567890123456-01")]
    [InlineData("00-1234567890123456789012345678901.-1234567890123456-01")]
    [InlineData("00-123456789012345678901234567890123-1234567890123456-01")]
    [InlineData("00-1234567890123456789012345678901-1234567890123456-01")]
    [InlineData("00-12345678901234567890123456789012-.234567890123456-01")]
    [InlineData("00-12345678901234567890123456789012-123456789012345.-01")]
    [InlineData("00-12345678901234567890123456789012-12345678901234567-01")]
    [InlineData("00-12345678901234567890123456789012-123456789012345-01")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-.0")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-0.")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-001")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-1")]
    // Wrong delimiters.
    [InlineData("00_12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("00-12345678901234567890123456789012_1234567890123456-01")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456_01")]
    // OWS inside the value, and characters that are not OWS around it.
    [InlineData("00-12345678901234567890123456789012- 234567890123456-01")]
    [InlineData("\n00-12345678901234567890123456789012-1234567890123456-01")]
    [InlineData("00-12345678901234567890123456789012-1234567890123456-01\r")]
    // Two values joined by a carrier.
    [InlineData("00-12345678901234567890123456789011-1234567890123456-01,00-12345678901234567890123456789012-1234567890123456-01")]
    public void InvalidValuesAreRejected(string? header)
    {
        Assert.False(TraceParent.TryNormalize(header, out string? normalized));
        Assert.Null(normalized);
        Assert.False(TraceParent.TryParse(Encoding.UTF8.GetBytes(header ?? string.Empty), out ReadOnlySpan<byte> _, out _, out _));
        Assert.False(TraceParent.TryParseIds(Encoding.UTF8.GetBytes(header ?? string.Empty), out ActivityTraceId trace, out ActivitySpanId parent, out _));
        Assert.Equal(default, trace);
        Assert.Equal(default, parent);
    }

    [Fact]
    public void OversizedFutureVersionIsIgnored()
    {
        string prefix = "cc-12345678901234567890123456789012-1234567890123456-01-";
        Assert.True(TraceParent.TryNormalize(prefix + new string('x', 512 - prefix.Length), out _));
        Assert.False(TraceParent.TryNormalize(prefix + new string('x', 513 - prefix.Length), out _));
        Assert.False(TraceParent.TryNormalize(prefix + new string('x', 1_000_000), out _));
    }

    [Fact]
    public void FormatWritesVersion00()
    {
        Assert.Equal($"00-{TraceId}-{SpanId}-01", TraceParent.Format(TraceId, SpanId, sampled: true));
        Assert.Equal($"00-{TraceId}-{SpanId}-00", TraceParent.Format(TraceId, SpanId, sampled: false));
    }
}
