using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Query;
using TraceAgent.Viewer.Storage;

namespace TraceAgent.Tests.Viewer;

public sealed class JaegerQueryTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_100_000);

    [Theory]
    [InlineData("1s", 1_000_000_000L)]
    [InlineData("100ms", 100_000_000L)]
    [InlineData("1.5h", 5_400_000_000_000L)]
    [InlineData("2h45m", 9_900_000_000_000L)]
    [InlineData("300us", 300_000L)]
    [InlineData("300µs", 300_000L)]
    [InlineData("10ns", 10L)]
    [InlineData("0", 0L)]
    public void Durations_are_read_as_Go_writes_them(string text, long nanos)
    {
        Assert.Equal(nanos, GoDuration.TryParse(text, out string? error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("10", "missing unit")]
    [InlineData("1sec", "unknown unit \"sec\"")]
    [InlineData("fast", "invalid duration")]
    [InlineData("", "invalid duration")]
    public void A_bad_duration_is_refused_with_the_reason(string text, string reason)
    {
        Assert.Null(GoDuration.TryParse(text, out string? error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_classic_query_parameters_are_read()
    {
        TraceQuery query = Parse(
            ("service", "frontend"),
            ("operation", "POST /checkout"),
            ("minDuration", "1s"),
            ("maxDuration", "2.5s"),
            ("tags", "{\"error\":\"true\",\"http.route\":\"/checkout\"}"),
            ("tag", "region:eu:west"),
            ("start", "1700000000000000"),
            ("end", "1700000060000000"),
            ("limit", "7"));

        Assert.Equal("frontend", query.Service);
        Assert.Equal("POST /checkout", query.Operation);
        Assert.Equal(1_000_000_000, query.MinDurationNanos);
        Assert.Equal(2_500_000_000, query.MaxDurationNanos);
        Assert.Equal("true", query.Tags["error"]);
        Assert.Equal("/checkout", query.Tags["http.route"]);
        Assert.Equal("eu:west", query.Tags["region"]);
        Assert.Equal(1_700_000_000_000_000_000, query.StartMinUnixNano);
        Assert.Equal(1_700_000_060_000_000_000, query.StartMaxUnixNano);
        Assert.Equal(7, query.Limit);
        Assert.False(query.DurationOfTrace);
        Assert.False(query.ErrorsOnly);
    }

    [Fact]
    public void A_lookback_sets_the_start_before_now_and_the_defaults_apply_without_parameters()
    {
        TraceQuery hour = Parse(("lookback", "1h"));
        Assert.Equal(QueryParser.UnixNano(Now) - 3_600_000_000_000, hour.StartMinUnixNano);
        TraceQuery days = Parse(("lookback", "2d"));
        Assert.Equal(QueryParser.UnixNano(Now) - 2 * 86_400_000_000_000, days.StartMinUnixNano);

        TraceQuery none = Parse();
        Assert.Null(none.Service);
        Assert.Null(none.StartMinUnixNano);
        Assert.Empty(none.Tags);
        Assert.Equal(QueryParser.JaegerDefaultLimit, none.Limit);
    }

    [Theory]
    [InlineData("minDuration", "fast", "unable to parse param 'minDuration'")]
    [InlineData("tags", "{not json", "malformed 'tags' parameter")]
    [InlineData("tag", "novalue", "malformed 'tag' parameter, expecting key:value")]
    [InlineData("start", "yesterday", "unable to parse param 'start'")]
    [InlineData("limit", "many", "unable to parse param 'limit'")]
    [InlineData("lookback", "forever", "unable to parse param 'lookback'")]
    public void A_bad_parameter_is_refused_with_Jaeger_s_wording(string name, string value, string message)
    {
        QueryException error = Assert.Throws<QueryException>(() => Parse((name, value)));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_maximum_below_the_minimum_is_refused()
    {
        QueryException error = Assert.Throws<QueryException>(() => Parse(("minDuration", "2s"), ("maxDuration", "1s")));
        Assert.Equal("'maxDuration' should be greater than 'minDuration'", error.Message);
    }

    [Fact]
    public void Span_conditions_must_hold_for_one_span_as_in_Jaeger_and_trace_conditions_for_the_whole_trace()
    {
        using TraceStore store = TraceStore.Open(new StoreOptions());
        store.PutAll([
            StoreTestData.Report(StoreTestData.Checkout(1, durationMs: 50)),
            StoreTestData.Report(StoreTestData.Checkout(2, durationMs: 1500)),
            StoreTestData.Report(StoreTestData.Checkout(3, durationMs: 80, fail: true)),
        ]);

        // The orders service has a span of at least 1 s only in trace 2.
        Assert.Equal([StoreTestData.TraceId(2)], Ids(store, ("service", "orders"), ("minDuration", "1s")));

        // No single INSERT span lasts 1 s, though trace 2 does: span semantics find nothing...
        Assert.Empty(Ids(store, ("operation", "INSERT orders"), ("minDuration", "1s")));

        // ...and the whole-trace duration finds it.
        Assert.Equal([StoreTestData.TraceId(2)], Ids(store, ("operation", "INSERT orders"), ("minDuration", "1s"), ("durationOf", "trace")));

        // error=true is the tag the OTLP-to-Jaeger translation adds to an error span.
        Assert.Equal([StoreTestData.TraceId(3)], Ids(store, ("tags", "{\"error\":\"true\"}")));
        Assert.Equal([StoreTestData.TraceId(3)], Ids(store, ("errors", "true")));

        // Numbers compare as text; resource attributes are Jaeger's process tags; span.kind is a tag too.
        Assert.Equal([StoreTestData.TraceId(3)], Ids(store, ("tags", "{\"http.response.status_code\":\"500\"}")));
        Assert.Equal(3, Ids(store, ("tags", "{\"host.name\":\"dev-box\",\"span.kind\":\"server\"}")).Count);
        Assert.Empty(Ids(store, ("service", "frontend"), ("tags", "{\"db.system.name\":\"postgresql\"}")));

        // At most limit, counting every match; an order applies to all matches before the limit.
        Assert.Equal(2, Ids(store, ("limit", "2")).Count);
        Assert.Equal(3, store.Search(Parse(("limit", "2"))).Matched);
        Assert.Equal([StoreTestData.TraceId(2)], store.Search(Parse(("limit", "1")), TraceOrder.Longest).Traces.Select(t => t.TraceId));
        Assert.Equal([StoreTestData.TraceId(1)], store.Search(Parse(("limit", "1")), TraceOrder.Shortest).Traces.Select(t => t.TraceId));
    }

    private static List<string> Ids(TraceStore store, params (string Key, string Value)[] parameters) =>
        [.. store.Search(Parse(parameters)).Traces.Select(t => t.TraceId)];

    private static TraceQuery Parse(params (string Key, string Value)[] parameters)
    {
        var values = parameters.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => new StringValues([.. g.Select(p => p.Value)]));
        return QueryParser.Parse(new QueryCollection(values), QueryParser.JaegerDefaultLimit, Now);
    }
}
