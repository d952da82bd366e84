using System.Diagnostics;
using TraceAgent.Propagation;
using TraceAgent.Tests.Propagation;

namespace TraceAgent.Tests.Fuzz;

/// <summary>
/// Headers far beyond any legitimate size (a hostile client controls them all): extraction stays
/// correct, and what it allocates is bounded by the specs' limits, not by the input's size.
/// </summary>
public sealed class OversizedHeaderTests
{
    private const int Huge = 1_000_000;

    // For the three extraction calls together, each of which may gather up to 32 K characters
    // of baggage (4 x the spec's 8192 bytes) and 32 tracestate members: far below the megabytes
    // a copy of the input would take.
    private const long AllocationBound = 512 * 1024;

    private const string ValidTraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    public static TheoryData<string> Shapes() => new()
    {
        "traceparent-padded",
        "tracestate-members",
        "tracestate-one-value",
        "baggage-members",
        "baggage-one-value",
        "baggage-many-headers",
        "b3-single",
        "b3-multi",
        "everything",
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Oversized_headers_are_extracted_within_an_allocation_bound(string shape)
    {
        var propagator = AgentPropagator.Create(["tracecontext", "baggage", "b3"]);
        var carrier = Build(shape);

        // Once to warm up (JIT, caches), then measure.
        Extract(propagator, carrier);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var (traceId, traceState, baggage) = Extract(propagator, carrier);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < AllocationBound, $"{shape}: {allocated} bytes allocated");
        if (traceId is not null)
        {
            Assert.True(traceId.Length <= 55 || traceId.StartsWith("00-", StringComparison.Ordinal));
        }

        Assert.True(traceState is null || traceState.Length <= 32 * 512 + 31, $"{shape}: tracestate of {traceState?.Length} characters kept");
        Assert.True(baggage.Count <= BaggagePropagation.MaxMembers, $"{shape}: {baggage.Count} baggage members kept");
        Assert.True(baggage.Sum(b => b.Key.Length + 1 + (b.Value?.Length ?? 0)) <= BaggagePropagation.MaxLength * 3, $"{shape}: baggage too large");
    }

    [Fact]
    public void A_valid_traceparent_still_wins_next_to_oversized_companions()
    {
        var propagator = AgentPropagator.Create(["tracecontext", "baggage"]);
        var carrier = new HeaderCarrier()
            .Add("traceparent", ValidTraceParent)
            .Add("tracestate", string.Join(",", Enumerable.Range(0, 100_000).Select(i => "k" + i + "=v")))
            .Add("baggage", string.Join(",", Enumerable.Range(0, 100_000).Select(i => "k" + i + "=v")));

        var (traceId, _, baggage) = Extract(propagator, carrier);

        Assert.Equal(ValidTraceParent, traceId);
        Assert.InRange(baggage.Count, 1, BaggagePropagation.MaxMembers);
    }

    private static (string? TraceId, string? TraceState, List<KeyValuePair<string, string?>> Baggage) Extract(AgentPropagator propagator, HeaderCarrier carrier)
    {
        propagator.ExtractTraceIdAndState(carrier, HeaderCarrier.Getter, out var traceId, out var traceState);
        var baggage = propagator.ExtractBaggage(carrier, HeaderCarrier.Getter)?.ToList() ?? [];
        _ = propagator.TryExtract(carrier, HeaderCarrier.EnumerableGetter, out _, out _);
        return (traceId, traceState, baggage);
    }

    private static HeaderCarrier Build(string shape)
    {
        var carrier = new HeaderCarrier();
        switch (shape)
        {
            case "traceparent-padded":
                carrier.Add("traceparent", ValidTraceParent + new string('0', Huge));
                break;
            case "tracestate-members":
                carrier.Add("traceparent", ValidTraceParent).Add("tracestate", Members(Huge / 8, "v"));
                break;
            case "tracestate-one-value":
                carrier.Add("traceparent", ValidTraceParent).Add("tracestate", "k=" + new string('v', Huge));
                break;
            case "baggage-members":
                carrier.Add("baggage", Members(Huge / 8, "v"));
                break;
            case "baggage-one-value":
                carrier.Add("baggage", "k=" + new string('v', Huge));
                break;
            case "baggage-many-headers":
                for (var i = 0; i < 2000; i++)
                {
                    carrier.Add("baggage", "k" + i + "=" + new string('v', 500));
                }

                break;
            case "b3-single":
                carrier.Add("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1" + new string('-', Huge));
                break;
            case "b3-multi":
                carrier.Add("X-B3-TraceId", new string('a', Huge)).Add("X-B3-SpanId", new string('b', Huge)).Add("X-B3-Sampled", new string('1', Huge));
                break;
            default:
                carrier.Add("traceparent", new string('f', Huge)).Add("tracestate", Members(Huge / 8, "v")).Add("baggage", Members(Huge / 8, "v"))
                    .Add("b3", new string('-', Huge));
                for (var i = 0; i < 500; i++)
                {
                    carrier.Add("traceparent", ValidTraceParent);
                }

                break;
        }

        return carrier;
    }

    private static string Members(int count, string value) =>
        string.Join(",", Enumerable.Range(0, count).Select(i => "k" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "=" + value));
}
