using System.Diagnostics;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Propagation;

public sealed class LowerHexTests
{
    [Fact]
    public void Identifiers_decode_to_the_bytes_the_runtime_gives()
    {
        // Every digit in both places of a byte, and random ids: the same bytes as the runtime's CopyTo.
        var ids = new List<ActivityTraceId> { ActivityTraceId.CreateFromString("0123456789abcdeffedcba9876543210"), default };
        for (int i = 0; i < 200; i++)
        {
            ids.Add(ActivityTraceId.CreateRandom());
        }

        Span<byte> expected = stackalloc byte[16];
        Span<byte> actual = stackalloc byte[16];
        foreach (var id in ids)
        {
            id.CopyTo(expected);
            LowerHex.DecodeId(id.ToHexString(), actual);
            Assert.Equal(expected.ToArray(), actual.ToArray());

            var spanId = id == default ? default : ActivitySpanId.CreateFromString(id.ToHexString().AsSpan(8, 16));
            spanId.CopyTo(expected[..8]);
            LowerHex.DecodeId(spanId.ToHexString(), actual[..8]);
            Assert.Equal(expected[..8].ToArray(), actual[..8].ToArray());
        }
    }

    [Fact]
    public void Text_of_the_wrong_length_leaves_zeros()
    {
        Span<byte> bytes = [1, 2, 3, 4, 5, 6, 7, 8];
        LowerHex.DecodeId("abc", bytes);
        Assert.Equal(new byte[8], bytes.ToArray());
    }
}
