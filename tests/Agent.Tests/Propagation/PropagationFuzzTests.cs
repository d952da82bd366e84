using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Propagation;

// Seeded random and mutated headers: nothing may throw, and whatever is accepted must be valid by
// the specs' grammars, written here independently as regular expressions.
public sealed partial class PropagationFuzzTests
{
    private const int Iterations = 20_000;

    private static readonly string[] Seeds =
    [
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        "tenant@system=va lue, a-b*c/d=x",
        "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue",
        "userId=Am%C3%A9lie,serverNode=DF%2028,isProduction=false",
        "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
        "463ac35c9f6413ad-e457b5a2e4d86bd1-d",
        "0",
    ];

    private static readonly string Alphabet =
        "0123456789abcdef0123456789abcdefABCDEF-----,,,;;===%%%  \t\t@@*/_.xyzdg\"\\\r\n\0\u007f\u00e9\u65e5\ud83d\ude00\ud800\uffff";

    [Fact]
    public void RandomAndMutatedHeadersNeverThrowAndAcceptedValuesAreValid()
    {
        var random = new Random(20240607);
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext", "b3", "baggage"]);
        int acceptedTraceParents = 0;
        int acceptedTraceStates = 0;
        int acceptedB3 = 0;
        int parsedBaggage = 0;

        for (int i = 0; i < Iterations; i++)
        {
            string input = NextInput(random);

            if (TraceParent.TryNormalize(input, out string? traceParent))
            {
                acceptedTraceParents++;
                AssertValidTraceParent(traceParent);
                Assert.True(TraceParent.TryNormalize(traceParent, out string? again));
                Assert.Same(traceParent, again);
            }

            if (TraceState.TryNormalize(input, out string? traceState) && traceState is not null)
            {
                acceptedTraceStates++;
                string[] members = traceState.Split(',');
                Assert.InRange(members.Length, 1, 32);
                foreach (string member in members)
                {
                    Assert.Matches(TraceStateMemberRegex(), member);
                }

                Assert.True(TraceState.TryNormalize(traceState, out string? again));
                Assert.Same(traceState, again);
            }

            if (B3Propagation.TryParseSingle(input, out string? fromB3))
            {
                acceptedB3++;
                AssertValidTraceParent(fromB3);
            }

            List<KeyValuePair<string, string?>>? baggage = BaggagePropagation.Parse(input, truncated: random.Next(8) == 0);
            if (baggage is not null)
            {
                parsedBaggage++;
                Assert.InRange(baggage.Count, 1, 64);
                string? header = BaggagePropagation.Format(baggage);
                Assert.NotNull(header);
                Assert.True(header!.Length <= 8192);
                Assert.Matches(BaggageHeaderRegex(), header);
                string? again = BaggagePropagation.Format(BaggagePropagation.Parse(header, truncated: false)!);
                Assert.Equal(header, again);
            }

            ExtractThroughThePropagator(propagator, random, input);
        }

        // The mutations must exercise the accepting paths, not only the rejecting ones.
        Assert.True(acceptedTraceParents > 100, $"{acceptedTraceParents} traceparents accepted");
        Assert.True(acceptedTraceStates > 100, $"{acceptedTraceStates} tracestates accepted");
        Assert.True(acceptedB3 > 100, $"{acceptedB3} b3 headers accepted");
        Assert.True(parsedBaggage > 100, $"{parsedBaggage} baggage headers parsed");
    }

    private static void ExtractThroughThePropagator(AgentPropagator propagator, Random random, string input)
    {
        string[] names = ["traceparent", "tracestate", "baggage", "b3", "X-B3-TraceId", "X-B3-SpanId", "X-B3-Sampled", "X-B3-Flags"];
        var carrier = new HeaderCarrier();
        foreach (string name in names)
        {
            int copies = random.Next(4) == 0 ? random.Next(3) : 1;
            for (int c = 0; c < copies; c++)
            {
                carrier.Add(name, random.Next(3) == 0 ? NextInput(random) : input);
            }
        }

        propagator.ExtractTraceIdAndState(carrier, HeaderCarrier.Getter, out string? traceId, out string? traceState);
        if (traceId is not null)
        {
            AssertValidTraceParent(traceId);
            Assert.True(ActivityContext.TryParse(traceId, traceState, isRemote: true, out _));
        }
        else
        {
            Assert.Null(traceState);
        }

        _ = propagator.ExtractBaggage(carrier, HeaderCarrier.JoiningGetter);
        _ = propagator.TryExtract(carrier, HeaderCarrier.EnumerableGetter, out _, out _);
    }

    private static void AssertValidTraceParent(string? value)
    {
        Assert.NotNull(value);
        Assert.Matches(TraceParentRegex(), value);
        Assert.NotEqual("00000000000000000000000000000000", value.Substring(3, 32));
        Assert.NotEqual("0000000000000000", value.Substring(36, 16));
    }

    private static string NextInput(Random random)
    {
        int kind = random.Next(10);
        if (kind < 6)
        {
            return Mutate(random, Seeds[random.Next(Seeds.Length)]);
        }

        if (kind < 9)
        {
            return RandomString(random, random.Next(80));
        }

        // Occasionally something large, to hit the length bounds.
        return random.Next(2) == 0
            ? RandomString(random, random.Next(600, 20_000))
            : string.Concat(Enumerable.Repeat(Seeds[random.Next(Seeds.Length)] + ",", random.Next(20, 400)));
    }

    private static string Mutate(Random random, string seed)
    {
        var builder = new StringBuilder(seed);
        int mutations = random.Next(4);
        for (int m = 0; m < mutations; m++)
        {
            int position = builder.Length == 0 ? 0 : random.Next(builder.Length);
            switch (random.Next(6))
            {
                case 0 when builder.Length > 0:
                    builder[position] = Alphabet[random.Next(Alphabet.Length)];
                    break;
                case 1:
                    builder.Insert(position, Alphabet[random.Next(Alphabet.Length)]);
                    break;
                case 2 when builder.Length > 0:
                    builder.Remove(position, 1);
                    break;
                case 3:
                    builder.Append(',').Append(seed);
                    break;
                case 4:
                    builder.Length = position;
                    break;
                default:
                    builder.Insert(0, random.Next(2) == 0 ? " " : "\t");
                    break;
            }
        }

        return builder.ToString();
    }

    private static string RandomString(Random random, int length)
    {
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = random.Next(10) == 0 ? (char)random.Next(0, 0x10000) : Alphabet[random.Next(Alphabet.Length)];
        }

        return new string(chars);
    }

    [GeneratedRegex("^00-(?![0]{32})[0-9a-f]{32}-(?![0]{16})[0-9a-f]{16}-0[0-3]$")]
    private static partial Regex TraceParentRegex();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$")]
    private static partial Regex TraceStateMemberRegex();

    [GeneratedRegex(@"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+=[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*(,[!#$%&'*+\-.^_`|~0-9A-Za-z]+=[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*)*$")]
    private static partial Regex BaggageHeaderRegex();
}
