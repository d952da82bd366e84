using System.Collections.Concurrent;
using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Tests.Sampling;

/// <summary>
/// The sampling policies through the real pipeline (one ActivityListener, the batch processor) with
/// an exporter that keeps what it is given: what is exported is what a collector would receive.
/// </summary>
public sealed class SamplingPolicyTests
{
    private sealed class KeepingExporter : ISpanExporter
    {
        public ConcurrentQueue<Activity> Exported { get; } = new();

        public string Description => "test";

        public ExportResult Export(IReadOnlyList<Activity> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
        {
            foreach (var activity in batch)
            {
                Exported.Enqueue(activity);
            }

            return ExportResult.Success;
        }

        public void Dispose()
        {
        }
    }

    private sealed class Harness : IDisposable
    {
        private readonly BatchSpanProcessor _processor;

        public Harness(string sampler, double ratio, SamplingPolicySettings policies)
        {
            SourceName = "TraceAgent.Test.Sampling." + Guid.NewGuid().ToString("N");
            _processor = new BatchSpanProcessor([Exporter], new BatchSettings(60_000, 30_000, 4096, 512), 10_000);
            Pipeline = new TracingPipeline(Sampler.Create(sampler, ratio), _processor, new SourceMatcher([SourceName]), policies);
            Pipeline.Start();
            Source = new ActivitySource(SourceName);
        }

        public string SourceName { get; }

        public ActivitySource Source { get; }

        public TracingPipeline Pipeline { get; }

        public KeepingExporter Exporter { get; } = new();

        public IReadOnlyList<Activity> Flush()
        {
            Assert.True(_processor.ForceFlush(10_000));
            return [.. Exporter.Exported];
        }

        public void Dispose()
        {
            Pipeline.Dispose();
            _processor.Shutdown(1000);
            Source.Dispose();
        }
    }

    private static SamplingPolicySettings Keep(bool errors = true, int? slowMs = null, int maxSpans = SamplingPolicySettings.DefaultKeepMaxBufferedSpans) =>
        new(null, [], errors, slowMs, maxSpans);

    /// <summary>A request: a server root with two client children, the second optionally failing.</summary>
    private static (Activity Root, Activity[] Children) Request(ActivitySource source, bool fail, DateTime? start = null)
    {
        Activity.Current = null;
        var root = source.StartActivity("GET /orders", ActivityKind.Server, default(ActivityContext), startTime: start ?? default)!;
        Assert.NotNull(root);
        var first = source.StartActivity("SELECT orders", ActivityKind.Client)!;
        first.Stop();
        var second = source.StartActivity("GET payments", ActivityKind.Client)!;
        if (fail)
        {
            second.SetStatus(ActivityStatusCode.Error);
        }

        second.Stop();
        root.Stop();
        Activity.Current = null;
        return (root, [first, second]);
    }

    [Fact]
    public void Under_an_unsampled_parent_in_the_process_only_sources_that_ask_get_a_span()
    {
        using var harness = new Harness("parentbased_traceidratio", 0, SamplingPolicySettings.None);
        Activity.Current = null;
        using var root = harness.Source.StartActivity("GET /orders", ActivityKind.Server, default(ActivityContext));

        // The root exists unsampled: its context travels downstream.
        Assert.NotNull(root);
        Assert.False(root.Recorded);

        // A child would record nothing: it is not made, and the root stays current.
        Assert.Null(harness.Source.StartActivity("SELECT orders", ActivityKind.Client));
        Assert.Same(root, Activity.Current);

        // A source made unsampled gets an unrecorded one: a library that makes a whole span of its
        // own when given none, or one whose spans the metrics measure (MetricsPipeline.MeasuredSources).
        harness.Pipeline.MakeUnsampled(harness.SourceName);
        using (var child = harness.Source.StartActivity("GET payments", ActivityKind.Client))
        {
            Assert.NotNull(child);
            Assert.False(child.IsAllDataRequested);
            Assert.Equal(root.TraceId, child.TraceId);
        }

        Activity.Current = null;
        Assert.Empty(harness.Flush());
    }

    [Fact]
    public void At_ratio_0_a_failing_request_is_exported_whole_and_a_good_one_not_at_all()
    {
        using var harness = new Harness("parentbased_traceidratio", 0, Keep());

        var (good, _) = Request(harness.Source, fail: false);
        var (bad, badChildren) = Request(harness.Source, fail: true);

        // Held spans record their data but carry no sampled flag, so downstream decides for itself.
        Assert.True(bad.IsAllDataRequested);

        var exported = harness.Flush();
        Assert.DoesNotContain(exported, a => a.TraceId == good.TraceId);
        Assert.Equal(3, exported.Count(a => a.TraceId == bad.TraceId));
        Assert.Contains(exported, a => ReferenceEquals(a, bad));
        Assert.All(badChildren, c => Assert.Contains(exported, a => ReferenceEquals(a, c)));
        Assert.All(exported, a => Assert.True(a.Recorded));
        Assert.Equal("error", bad.GetTagItem(TraceKeeper.ReasonAttribute));
        Assert.Null(badChildren[0].GetTagItem(TraceKeeper.ReasonAttribute));
        Assert.Equal(0, harness.Pipeline.Sampling.Keeper!.Buffered);
        Assert.Equal((1L, 1L), harness.Pipeline.Sampling.Keeper.Decisions);
    }

    [Fact]
    public void Held_spans_are_completed_by_their_hook_only_when_their_trace_is_not_dropped_as_they_end()
    {
        using var harness = new Harness("parentbased_traceidratio", 0, Keep());
        var completed = new ConcurrentQueue<Activity>();
        var kept = new ConcurrentQueue<Activity>();
        harness.Pipeline.SetHooks(harness.SourceName, new SpanHooks { OnHeldEnd = completed.Enqueue, OnKept = kept.Enqueue });

        var (good, goodChildren) = Request(harness.Source, fail: false);
        var (bad, badChildren) = Request(harness.Source, fail: true);

        // Children end before their trace is decided: each is completed, as what completes it may
        // not outlive its end. A root is completed only when its trace is kept.
        Assert.Equal([.. goodChildren, .. badChildren, bad], completed);
        Assert.DoesNotContain(good, completed);

        // After the decision, what the drop left behind records nothing; a kept trace still does.
        Assert.False(harness.Pipeline.Sampling.RecordsChildrenOf(good.Context));
        Assert.True(harness.Pipeline.Sampling.RecordsChildrenOf(bad.Context));
        Assert.True(harness.Pipeline.Sampling.RecordsChildrenOf(default));
        Assert.Equal(3, harness.Flush().Count(a => a.TraceId == bad.TraceId));

        // What waits for the decision is done for the kept trace's spans alone.
        Assert.Equal([bad, .. badChildren], kept.OrderBy(a => a == bad ? 0 : 1).ThenBy(a => Array.IndexOf(badChildren, a)));
    }

    [Fact]
    public void A_slow_request_is_kept_and_a_fast_one_dropped()
    {
        using var harness = new Harness("parentbased_traceidratio", 0, Keep(errors: false, slowMs: 500));

        // Started a second ago: it lasts about a second without the test waiting for it.
        var (slow, _) = Request(harness.Source, fail: false, start: DateTime.UtcNow.AddSeconds(-1));
        var (fast, _) = Request(harness.Source, fail: true);

        var exported = harness.Flush();
        Assert.Equal(3, exported.Count(a => a.TraceId == slow.TraceId));
        Assert.Equal("slow", slow.GetTagItem(TraceKeeper.ReasonAttribute));

        // Errors are not kept when only slow requests are asked for.
        Assert.DoesNotContain(exported, a => a.TraceId == fast.TraceId);
    }

    [Fact]
    public void A_sampled_request_is_exported_as_always_and_tagged_with_its_reason()
    {
        using var harness = new Harness("parentbased_traceidratio", 1, Keep());
        var (root, _) = Request(harness.Source, fail: false);
        var exported = harness.Flush();
        Assert.Equal(3, exported.Count(a => a.TraceId == root.TraceId));
        Assert.Equal("ratio", root.GetTagItem(TraceKeeper.ReasonAttribute));
        Assert.Equal(0, harness.Pipeline.Sampling.Keeper!.Buffered);
    }

    [Fact]
    public void Beyond_the_buffer_cap_spans_are_dropped_and_counted_and_the_kept_trace_keeps_what_was_held()
    {
        using var harness = new Harness("parentbased_always_off", 1, Keep(maxSpans: 2));
        Activity.Current = null;
        var root = harness.Source.StartActivity("GET /big", ActivityKind.Server, default(ActivityContext))!;
        var children = new List<Activity>();
        for (var i = 0; i < 4; i++)
        {
            var child = harness.Source.StartActivity("child " + i, ActivityKind.Client)!;
            if (i == 3)
            {
                child.SetStatus(ActivityStatusCode.Error);
            }

            child.Stop();
            children.Add(child);
        }

        root.Stop();
        Activity.Current = null;

        var keeper = harness.Pipeline.Sampling.Keeper!;
        Assert.Equal(3, keeper.Overflowed);
        var exported = harness.Flush();
        Assert.Equal(2, exported.Count(a => a.TraceId == root.TraceId));
        Assert.Equal(0, keeper.Buffered);
    }

    [Fact]
    public void An_unsampled_remote_parent_is_held_and_kept_on_error_like_a_root()
    {
        using var harness = new Harness("parentbased_always_on", 1, Keep());
        var remote = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, isRemote: true);
        Activity.Current = null;
        var server = harness.Source.StartActivity("POST /pay", ActivityKind.Server, remote)!;
        Assert.False(server.Recorded);
        Assert.True(server.IsAllDataRequested);
        server.SetStatus(ActivityStatusCode.Error);
        server.Stop();
        Activity.Current = null;

        var exported = harness.Flush();
        var kept = Assert.Single(exported, a => a.TraceId == remote.TraceId);
        Assert.Equal(remote.SpanId, kept.ParentSpanId);
        Assert.Equal("error", kept.GetTagItem(TraceKeeper.ReasonAttribute));
    }

    [Fact]
    public void A_trace_with_several_local_roots_is_decided_when_the_last_ends_whatever_the_order_and_kept_whole()
    {
        // Three requests of one upstream trace served at once by this process (three local roots
        // under one unsampled remote parent), with more children than the keeper holds inline.
        using var harness = new Harness("parentbased_always_on", 1, Keep());
        var remote = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, isRemote: true);
        var roots = new Activity[3];
        var children = new List<Activity>();
        for (var r = 0; r < roots.Length; r++)
        {
            Activity.Current = null;
            roots[r] = harness.Source.StartActivity("POST /pay " + r, ActivityKind.Server, remote)!;
            Assert.False(roots[r].Recorded);
            for (var c = 0; c < 3; c++)
            {
                var child = harness.Source.StartActivity("call " + r + "." + c, ActivityKind.Client)!;
                child.Stop();
                children.Add(child);
            }
        }

        Activity.Current = null;
        var keeper = harness.Pipeline.Sampling.Keeper!;

        // The middle root ends first, then the first: the trace stays undecided, all held.
        roots[1].Stop();
        roots[0].Stop();
        Assert.Equal(children.Count + 2, keeper.Buffered);
        Assert.DoesNotContain(harness.Flush(), a => a.TraceId == remote.TraceId);

        // The last root ends failing: the whole trace goes, every root tagged with the reason.
        roots[2].SetStatus(ActivityStatusCode.Error);
        roots[2].Stop();
        var exported = harness.Flush().Where(a => a.TraceId == remote.TraceId).ToList();
        Assert.Equal(children.Count + roots.Length, exported.Count);
        Assert.All(children.Concat(roots), span => Assert.Contains(exported, a => ReferenceEquals(a, span)));
        Assert.All(roots, root => Assert.Equal("error", root.GetTagItem(TraceKeeper.ReasonAttribute)));
        Assert.Equal(0, keeper.Buffered);
        Assert.Equal((1L, 0L), keeper.Decisions);
    }

    [Fact]
    public void A_trace_with_several_local_roots_and_no_failure_is_dropped_when_the_last_ends()
    {
        using var harness = new Harness("parentbased_always_on", 1, Keep());
        var remote = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, isRemote: true);
        var roots = new Activity[6];
        for (var r = 0; r < roots.Length; r++)
        {
            Activity.Current = null;
            roots[r] = harness.Source.StartActivity("GET /item " + r, ActivityKind.Server, remote)!;
        }

        Activity.Current = null;
        var keeper = harness.Pipeline.Sampling.Keeper!;
        foreach (var r in new[] { 3, 0, 5, 1, 4 })
        {
            roots[r].Stop();
        }

        Assert.Equal(5, keeper.Buffered);
        Assert.Equal((0L, 0L), keeper.Decisions);
        roots[2].Stop();
        Assert.Equal(0, keeper.Buffered);
        Assert.Equal((0L, 1L), keeper.Decisions);
        Assert.DoesNotContain(harness.Flush(), a => a.TraceId == remote.TraceId);
    }

    [Fact]
    public void Without_keeping_an_unsampled_trace_records_nothing()
    {
        using var harness = new Harness("parentbased_traceidratio", 0, SamplingPolicySettings.None);
        Activity.Current = null;
        var root = harness.Source.StartActivity("GET /x", ActivityKind.Server, default(ActivityContext))!;
        Assert.False(root.IsAllDataRequested);
        root.Stop();
        Assert.Null(harness.Pipeline.Sampling.Keeper);
        Assert.Empty(harness.Flush());
    }

    [Fact]
    public void Topic_rules_decide_consumer_roots_first_match_wins_and_children_follow_even_under_always_on()
    {
        var rules = new SamplingPolicySettings(null, [new SamplingRule("audit-*", 0), new SamplingRule("orders", 1), new SamplingRule("*", 0)], false, null, 100);
        using var harness = new Harness("always_on", 1, rules);

        Activity Consume(string topic)
        {
            Activity.Current = null;
            var consumer = harness.Source.StartActivity("process " + topic, ActivityKind.Consumer, default(ActivityContext), [new("messaging.destination.name", topic)])!;
            // Under a dropped consumer root no child is made (see the test above).
            harness.Source.StartActivity("INSERT", ActivityKind.Client)?.Stop();
            consumer.Stop();
            Activity.Current = null;
            return consumer;
        }

        var orders = Consume("orders");
        var audit = Consume("audit-log");
        var other = Consume("payments");
        var exported = harness.Flush();

        Assert.Equal(2, exported.Count(a => a.TraceId == orders.TraceId));
        Assert.Equal("rule", orders.GetTagItem(TraceKeeper.ReasonAttribute));
        Assert.DoesNotContain(exported, a => a.TraceId == audit.TraceId);
        Assert.DoesNotContain(exported, a => a.TraceId == other.TraceId);
    }

    [Fact]
    public void The_rate_limit_allows_a_burst_of_N_then_N_a_second()
    {
        long now = 0;
        var limiter = new RateLimiter(5, () => now);
        Assert.Equal(5, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire()));

        now += Stopwatch.Frequency / 5;
        Assert.True(limiter.TryAcquire());
        Assert.False(limiter.TryAcquire());

        now += Stopwatch.Frequency * 10;
        Assert.Equal(5, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire()));

        // Below one a second: one at a time, one every 1/rate seconds.
        var slow = new RateLimiter(0.5, () => now);
        Assert.True(slow.TryAcquire());
        Assert.False(slow.TryAcquire());
        now += Stopwatch.Frequency * 2;
        Assert.True(slow.TryAcquire());
    }

    [Fact]
    public void The_rate_limit_caps_new_root_traces_and_leaves_children_of_remote_parents_alone()
    {
        using var harness = new Harness("parentbased_always_on", 1, new SamplingPolicySettings(3, [], false, null, 100));
        var sampled = 0;
        for (var i = 0; i < 50; i++)
        {
            Activity.Current = null;
            using var root = harness.Source.StartActivity("job", ActivityKind.Internal, default(ActivityContext))!;
            sampled += root.Recorded ? 1 : 0;
        }

        // The burst of 3 at once, then 3 a second: far from all 50 (the exact refill arithmetic is
        // proven with a test clock above).
        Assert.InRange(sampled, 3, 49);

        var remote = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
        for (var i = 0; i < 20; i++)
        {
            Activity.Current = null;
            using var server = harness.Source.StartActivity("POST /x", ActivityKind.Server, remote)!;
            Assert.True(server.Recorded);
        }

        Activity.Current = null;
    }

    [Fact]
    public void Settings_parse_rules_in_order_and_report_bad_entries_and_values()
    {
        var reader = new SettingsReader(new Dictionary<string, string>
        {
            [ConfigurationKeys.SamplerRules] = "/health*=0, /api/payments/*=1 ,bad,/x=2,*=0.05",
            [ConfigurationKeys.SamplerMaxTracesPerSecond] = "-3",
            [ConfigurationKeys.SamplerKeepErrors] = "true",
            [ConfigurationKeys.SamplerKeepSlowerThanMs] = "250",
        });
        var settings = SettingsParser.ReadSamplingPolicies(reader);

        Assert.Equal([new SamplingRule("/health*", 0), new SamplingRule("/api/payments/*", 1), new SamplingRule("*", 0.05)], settings.Rules);
        Assert.Null(settings.MaxTracesPerSecond);
        Assert.True(settings.KeepErrors);
        Assert.Equal(250, settings.KeepSlowerThanMilliseconds);
        Assert.Equal(SamplingPolicySettings.DefaultKeepMaxBufferedSpans, settings.KeepMaxBufferedSpans);
        Assert.Contains(reader.Warnings, w => w.StartsWith(ConfigurationKeys.SamplerRules + "=", StringComparison.Ordinal) && w.Contains("(bad, /x=2)", StringComparison.Ordinal) && w.EndsWith("using /health*=0,/api/payments/*=1,*=0.05", StringComparison.Ordinal));
        Assert.Contains(reader.Warnings, w => w.StartsWith(ConfigurationKeys.SamplerMaxTracesPerSecond + "='-3'", StringComparison.Ordinal) && w.EndsWith("using no rate limit", StringComparison.Ordinal));
        Assert.Equal(2, reader.Warnings.Count);
    }
}
