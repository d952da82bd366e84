using System.Diagnostics;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Propagation;

public sealed class AgentPropagatorTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string SpanId = "00f067aa0ba902b7";
    private const string OtherTraceId = "80f198ee56343ba864fe8b2a57d3eff7";
    private const string OtherSpanId = "e457b5a2e4d86bd1";

    [Fact]
    public void FieldsAndNamesFollowTheConfiguredFormats()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext", "baggage"]);

        Assert.Equal(["tracecontext", "baggage"], propagator.Names);
        Assert.Equal(["traceparent", "tracestate", "baggage"], propagator.Fields);

        AgentPropagator b3 = AgentPropagator.Create([" B3 ", "b3multi", "b3", "unknown"]);
        Assert.Equal(["b3", "b3multi"], b3.Names);
        Assert.Equal(["b3", "X-B3-TraceId", "X-B3-SpanId", "X-B3-ParentSpanId", "X-B3-Sampled", "X-B3-Flags"], b3.Fields);
    }

    [Fact]
    public void InjectWritesTraceContextFromTheActivity()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext", "baggage"]);
        using Activity activity = StartActivity(recorded: true);
        activity.TraceStateString = "congo=t61rcWkgMzE";
        activity.AddBaggage("userId", "alice");
        var carrier = new HeaderCarrier();

        propagator.Inject(activity, carrier, HeaderCarrier.Setter);

        // Sampled, and random: a trace started here has a random trace id (W3C Level 2 flag 02).
        string expected = $"00-{activity.TraceId.ToHexString()}-{activity.SpanId.ToHexString()}-03";
        Assert.Equal(expected, carrier.Get("traceparent"));
        Assert.Equal("congo=t61rcWkgMzE", carrier.Get("tracestate"));
        Assert.Equal("userId=alice", carrier.Get("baggage"));
        Assert.Equal(3, carrier.Count);
    }

    [Fact]
    public void InjectUsesTheCurrentSamplingDecision()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext"]);
        using Activity activity = StartActivity(recorded: true);
        _ = activity.Id;
        activity.ActivityTraceFlags = ActivityTraceFlags.None;
        var carrier = new HeaderCarrier();

        propagator.Inject(activity, carrier, HeaderCarrier.Setter);

        Assert.Equal($"00-{activity.TraceId.ToHexString()}-{activity.SpanId.ToHexString()}-02", carrier.Get("traceparent"));
        Assert.Null(carrier.Get("tracestate"));
    }

    [Fact]
    public void InjectWritesEveryConfiguredTraceFormat()
    {
        AgentPropagator propagator = AgentPropagator.Create(["b3", "b3multi", "tracecontext"]);
        using Activity activity = StartActivity(recorded: false);
        var carrier = new HeaderCarrier();

        propagator.Inject(activity, carrier, HeaderCarrier.Setter);

        string traceId = activity.TraceId.ToHexString();
        string spanId = activity.SpanId.ToHexString();
        Assert.Equal($"{traceId}-{spanId}-0", carrier.Get("b3"));
        Assert.Equal(traceId, carrier.Get("X-B3-TraceId"));
        Assert.Equal(spanId, carrier.Get("X-B3-SpanId"));
        Assert.Equal("0", carrier.Get("X-B3-Sampled"));
        Assert.Equal($"00-{traceId}-{spanId}-02", carrier.Get("traceparent"));
        Assert.Equal(5, carrier.Count);
    }

    [Fact]
    public void InjectWithoutActivityOrW3CIdWritesNoTraceHeaders()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext", "b3", "baggage"]);
        var carrier = new HeaderCarrier();

        propagator.Inject(null, carrier, HeaderCarrier.Setter);
        Assert.Equal(0, carrier.Count);

        using var hierarchical = new Activity("hierarchical");
        hierarchical.SetIdFormat(ActivityIdFormat.Hierarchical);
        hierarchical.AddBaggage("k", "v");
        hierarchical.Start();

        propagator.Inject(hierarchical, carrier, HeaderCarrier.Setter);

        Assert.Equal("k=v", carrier.Get("baggage"));
        Assert.Equal(1, carrier.Count);
    }

    [Fact]
    public void BaggageIsInjectedFromTheParentChainChildFirst()
    {
        AgentPropagator propagator = AgentPropagator.Create(["baggage"]);
        using Activity parent = StartActivity(recorded: true);
        parent.AddBaggage("shared", "parent");
        parent.AddBaggage("fromParent", "1");
        using Activity child = StartActivity(recorded: true);
        child.AddBaggage("shared", "child");
        var carrier = new HeaderCarrier();

        propagator.Inject(child, carrier, HeaderCarrier.Setter);

        Assert.Equal("shared=child,fromParent=1", carrier.Get("baggage"));
    }

    [Fact]
    public void ExtractedBaggageAddedLikeAspNetCoreKeepsHeaderOrder()
    {
        AgentPropagator propagator = AgentPropagator.Create(["baggage"]);
        var carrier = new HeaderCarrier().Add("baggage", "a=1,b=2,a=3");

        IEnumerable<KeyValuePair<string, string?>>? baggage = propagator.ExtractBaggage(carrier, HeaderCarrier.Getter);

        // ASP.NET Core's ActivityCreator adds the items one by one with AddBaggage, which prepends.
        var activity = new Activity("server");
        foreach (KeyValuePair<string, string?> item in baggage!)
        {
            activity.AddBaggage(item.Key, item.Value);
        }

        Assert.Equal([Pair("a", "1"), Pair("b", "2"), Pair("a", "3")], activity.Baggage);
        Assert.Equal("1", activity.GetBaggageItem("a"));
    }

    public static TheoryData<string[], string, string, string, ActivityTraceFlags, string?> ExtractCases() => new()
    {
        { ["traceparent", $"00-{TraceId}-{SpanId}-01", "tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"], TraceId, SpanId, "tracecontext", ActivityTraceFlags.Recorded, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE" },
        { ["traceparent", $"00-{TraceId}-{SpanId}-00", "tracestate", " rojo=1 ,, congo=2 "], TraceId, SpanId, "tracecontext", ActivityTraceFlags.None, "rojo=1,congo=2" },
        { ["traceparent", $"cc-{TraceId}-{SpanId}-01-future", "tracestate", "FOO=1"], TraceId, SpanId, "tracecontext", ActivityTraceFlags.Recorded, null },
        { ["b3", $"463ac35c9f6413ad-{SpanId}-d"], "0000000000000000463ac35c9f6413ad", SpanId, "b3", ActivityTraceFlags.Recorded, null },
        { ["X-B3-TraceId", OtherTraceId, "X-B3-SpanId", OtherSpanId, "X-B3-Sampled", "true"], OtherTraceId, OtherSpanId, "b3multi", ActivityTraceFlags.Recorded, null },
        { ["x-b3-traceid", "463ac35c9f6413ad", "x-b3-spanid", OtherSpanId], "0000000000000000463ac35c9f6413ad", OtherSpanId, "b3multi", ActivityTraceFlags.None, null },
    };

    [Theory]
    [MemberData(nameof(ExtractCases))]
    public void ExtractedTraceIdIsAcceptedByActivityContextTryParse(
        string[] headers, string traceId, string spanId, string format, ActivityTraceFlags flags, string? traceState)
    {
        AgentPropagator propagator = AgentPropagator.Create([format]);
        var carrier = new HeaderCarrier();
        for (int i = 0; i < headers.Length; i += 2)
        {
            carrier.Add(headers[i], headers[i + 1]);
        }

        // The same calls ASP.NET Core's hosting makes.
        propagator.ExtractTraceIdAndState(carrier, HeaderCarrier.JoiningGetter, out string? extractedId, out string? extractedState);
        Assert.True(ActivityContext.TryParse(extractedId, extractedState, isRemote: true, out ActivityContext context));

        Assert.Equal(traceId, context.TraceId.ToHexString());
        Assert.Equal(spanId, context.SpanId.ToHexString());
        Assert.Equal(flags, context.TraceFlags);
        Assert.Equal(traceState, context.TraceState);
        Assert.True(context.IsRemote);
    }

    [Theory]
    [InlineData("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0")]
    [InlineData("traceparent", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    [InlineData("b3", "1")]
    [InlineData("b3", "garbage")]
    [InlineData("X-B3-SpanId", "00f067aa0ba902b7")]
    public void InvalidInputExtractsNothing(string name, string value)
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext", "b3"]);
        var carrier = new HeaderCarrier().Add(name, value).Add("tracestate", "congo=1");

        propagator.ExtractTraceIdAndState(carrier, HeaderCarrier.Getter, out string? traceId, out string? traceState);

        Assert.Null(traceId);
        Assert.Null(traceState);
    }

    [Fact]
    public void DuplicatedTraceParentIsInvalid()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext"]);
        var carrier = new HeaderCarrier()
            .Add("traceparent", $"00-{OtherTraceId}-{SpanId}-01")
            .Add("traceparent", $"00-{TraceId}-{SpanId}-01");

        propagator.ExtractTraceIdAndState(carrier, HeaderCarrier.Getter, out string? fromValues, out _);
        propagator.ExtractTraceIdAndState(carrier, HeaderCarrier.JoiningGetter, out string? fromJoined, out _);

        Assert.Null(fromValues);
        Assert.Null(fromJoined);
    }

    [Fact]
    public void MultipleTraceStateHeadersAreCombinedInOrder()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext"]);
        var carrier = new HeaderCarrier()
            .Add("traceparent", $"00-{TraceId}-{SpanId}-01")
            .Add("tracestate", "foo=1,bar=2")
            .Add("tracestate", "rojo=1,congo=2")
            .Add("tracestate", "baz=3");

        propagator.ExtractTraceIdAndState(carrier, HeaderCarrier.Getter, out _, out string? traceState);

        Assert.Equal("foo=1,bar=2,rojo=1,congo=2,baz=3", traceState);
    }

    [Theory]
    [InlineData("tracecontext,b3", TraceId)]
    [InlineData("b3,tracecontext", OtherTraceId)]
    public void FirstConfiguredFormatWithAValidContextWins(string names, string expectedTraceId)
    {
        AgentPropagator propagator = AgentPropagator.Create(names.Split(','));
        var carrier = new HeaderCarrier()
            .Add("traceparent", $"00-{TraceId}-{SpanId}-01")
            .Add("tracestate", "congo=1")
            .Add("b3", $"{OtherTraceId}-{OtherSpanId}-1");

        propagator.ExtractTraceIdAndState(carrier, HeaderCarrier.Getter, out string? traceId, out string? traceState);

        Assert.Equal(expectedTraceId, traceId!.Substring(3, 32));
        Assert.Equal(expectedTraceId == TraceId ? "congo=1" : null, traceState);
    }

    [Fact]
    public void LaterFormatIsUsedWhenTheFirstIsInvalid()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext", "b3multi"]);
        var carrier = new HeaderCarrier()
            .Add("traceparent", $"00-{TraceId.ToUpperInvariant()}-{SpanId}-01")
            .Add("tracestate", "congo=1")
            .Add("X-B3-TraceId", OtherTraceId)
            .Add("X-B3-SpanId", OtherSpanId)
            .Add("X-B3-Sampled", "1");

        propagator.ExtractTraceIdAndState(carrier, HeaderCarrier.Getter, out string? traceId, out string? traceState);

        Assert.Equal($"00-{OtherTraceId}-{OtherSpanId}-01", traceId);
        Assert.Null(traceState);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("tracecontext,none,baggage")]
    [InlineData("")]
    [InlineData("jaeger,xray")]
    public void NoneOrNothingKnownPropagatesNothing(string names)
    {
        AgentPropagator propagator = AgentPropagator.Create(names.Length == 0 ? [] : names.Split(','));
        using Activity activity = StartActivity(recorded: true);
        activity.AddBaggage("k", "v");
        var outgoing = new HeaderCarrier();
        var incoming = new HeaderCarrier()
            .Add("traceparent", $"00-{TraceId}-{SpanId}-01")
            .Add("baggage", "k=v");

        propagator.Inject(activity, outgoing, HeaderCarrier.Setter);
        propagator.ExtractTraceIdAndState(incoming, HeaderCarrier.Getter, out string? traceId, out string? traceState);

        Assert.Empty(propagator.Fields);
        Assert.Empty(propagator.Names);
        Assert.Equal(0, outgoing.Count);
        Assert.Null(traceId);
        Assert.Null(traceState);
        Assert.Null(propagator.ExtractBaggage(incoming, HeaderCarrier.Getter));
    }

    [Fact]
    public void BaggageOnlyPropagatesBaggageOnly()
    {
        AgentPropagator propagator = AgentPropagator.Create(["baggage"]);
        using Activity activity = StartActivity(recorded: true);
        activity.AddBaggage("k", "v");
        var outgoing = new HeaderCarrier();
        var incoming = new HeaderCarrier()
            .Add("traceparent", $"00-{TraceId}-{SpanId}-01")
            .Add("baggage", "k=v");

        propagator.Inject(activity, outgoing, HeaderCarrier.Setter);
        propagator.ExtractTraceIdAndState(incoming, HeaderCarrier.Getter, out string? traceId, out _);

        Assert.Equal("k=v", outgoing.Get("baggage"));
        Assert.Equal(1, outgoing.Count);
        Assert.Null(traceId);
        Assert.Equal([Pair("k", "v")], propagator.ExtractBaggage(incoming, HeaderCarrier.Getter)!);
    }

    [Fact]
    public void TraceFormatsWithoutBaggageIgnoreBaggage()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext"]);
        var incoming = new HeaderCarrier().Add("baggage", "k=v");

        Assert.Null(propagator.ExtractBaggage(incoming, HeaderCarrier.Getter));
    }

    [Fact]
    public void ThrowingCallbacksDoNotEscape()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext", "b3", "baggage"]);
        DistributedContextPropagator.PropagatorGetterCallback getter = (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
            throw new InvalidOperationException("carrier failure");
        DistributedContextPropagator.PropagatorSetterCallback setter = (carrier, name, value) => throw new InvalidOperationException("carrier failure");
        using Activity activity = StartActivity(recorded: true);
        activity.AddBaggage("k", "v");

        propagator.ExtractTraceIdAndState(null, getter, out string? traceId, out string? traceState);
        Assert.Null(traceId);
        Assert.Null(traceState);
        Assert.Null(propagator.ExtractBaggage(null, getter));
        propagator.Inject(activity, null, setter);
        propagator.Inject(activity, null, null);
        propagator.ExtractTraceIdAndState(null, null, out _, out _);

        Assert.False(propagator.TryExtract<object?>(null, (_, _) => throw new InvalidOperationException(), out ActivityContext context, out var baggage));
        Assert.Equal(default, context);
        Assert.Empty(baggage);
        propagator.Inject<object?>(activity.Context, [Pair("k", "v")], null, (_, _, _) => throw new InvalidOperationException());
    }

    [Fact]
    public void MessagingHelpersRoundTripOverCaseSensitiveHeaders()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext", "baggage"]);
        var context = new ActivityContext(
            ActivityTraceId.CreateFromString(TraceId),
            ActivitySpanId.CreateFromString(SpanId),
            ActivityTraceFlags.Recorded,
            "congo=t61rcWkgMzE");
        var carrier = new HeaderCarrier(caseSensitive: true);

        propagator.Inject(context, [Pair("userId", "Am\u00e9lie"), Pair("n", "1")], carrier, HeaderCarrier.ActionSetter);

        Assert.Equal($"00-{TraceId}-{SpanId}-01", carrier.Get("traceparent"));
        Assert.Equal("congo=t61rcWkgMzE", carrier.Get("tracestate"));
        Assert.Equal("userId=Am%C3%A9lie,n=1", carrier.Get("baggage"));

        Assert.True(propagator.TryExtract(carrier, HeaderCarrier.EnumerableGetter, out ActivityContext extracted, out var baggage));
        Assert.Equal(context.TraceId, extracted.TraceId);
        Assert.Equal(context.SpanId, extracted.SpanId);
        Assert.Equal(ActivityTraceFlags.Recorded, extracted.TraceFlags);
        Assert.Equal("congo=t61rcWkgMzE", extracted.TraceState);
        Assert.True(extracted.IsRemote);
        Assert.Equal([Pair("userId", "Am\u00e9lie"), Pair("n", "1")], baggage);
    }

    [Fact]
    public void MessagingHelpersWithB3AndDefaultContext()
    {
        AgentPropagator propagator = AgentPropagator.Create(["b3multi"]);
        var carrier = new HeaderCarrier(caseSensitive: true);

        propagator.Inject(default, [], carrier, HeaderCarrier.ActionSetter);
        Assert.Equal(0, carrier.Count);
        Assert.False(propagator.TryExtract(carrier, HeaderCarrier.EnumerableGetter, out _, out var none));
        Assert.Empty(none);

        var context = new ActivityContext(ActivityTraceId.CreateFromString(OtherTraceId), ActivitySpanId.CreateFromString(OtherSpanId), ActivityTraceFlags.None);
        propagator.Inject(context, [], carrier, HeaderCarrier.ActionSetter);

        Assert.True(propagator.TryExtract(carrier, HeaderCarrier.EnumerableGetter, out ActivityContext extracted, out _));
        Assert.Equal(context.TraceId, extracted.TraceId);
        Assert.Equal(context.SpanId, extracted.SpanId);
        Assert.Equal(ActivityTraceFlags.None, extracted.TraceFlags);
    }

    [Fact]
    public void HttpClientLikeRoundTripThroughTheServerPath()
    {
        AgentPropagator propagator = AgentPropagator.Create(["tracecontext", "baggage"]);
        using Activity client = StartActivity(recorded: true);
        client.TraceStateString = "rojo=00f067aa0ba902b7";
        client.AddBaggage("first", "1");
        client.AddBaggage("second", "2 2");
        var wire = new HeaderCarrier();
        propagator.Inject(client, wire, HeaderCarrier.Setter);

        propagator.ExtractTraceIdAndState(wire, HeaderCarrier.JoiningGetter, out string? traceId, out string? traceState);
        Assert.True(ActivityContext.TryParse(traceId, traceState, isRemote: true, out ActivityContext context));
        var server = new Activity("server");
        server.SetParentId(context.TraceId, context.SpanId, context.TraceFlags);
        foreach (KeyValuePair<string, string?> item in propagator.ExtractBaggage(wire, HeaderCarrier.JoiningGetter)!)
        {
            server.AddBaggage(item.Key, item.Value);
        }

        Assert.Equal(client.TraceId, context.TraceId);
        Assert.Equal(client.SpanId, context.SpanId);
        Assert.Equal("rojo=00f067aa0ba902b7", context.TraceState);
        Assert.Equal(client.Baggage, server.Baggage);
    }

    private static Activity StartActivity(bool recorded)
    {
        var activity = new Activity("test");
        activity.SetIdFormat(ActivityIdFormat.W3C);
        activity.ActivityTraceFlags = recorded ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None;
        activity.Start();
        return activity;
    }

    private static KeyValuePair<string, string?> Pair(string key, string? value) => new(key, value);
}
