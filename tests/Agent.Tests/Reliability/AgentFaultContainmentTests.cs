using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Export;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Tests.Reliability;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StandardErrorCollection
{
    // Tests that capture the agent's stderr lines (AgentLog.RedirectStderr) run alone: another test's lines would land in their capture.
    public const string Name = "Standard error capture";
}

/// <summary>
/// Every callback the agent runs inside the app may fail: an instrumentation's filter and hooks,
/// the exporter. The app's own call must go on as if the agent were not there; the fault is
/// counted per site and logged once per site.
/// </summary>
[Collection(StandardErrorCollection.Name)]
public sealed class AgentFaultContainmentTests
{
    private const int Spans = 50;

    private sealed class ThrowingExporter : ISpanExporter
    {
        public int Calls;

        public string Description => "throwing test exporter";

        public ExportResult Export(IReadOnlyList<Activity> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            throw new InvalidOperationException("export failed on purpose");
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public void Throwing_filter_hooks_and_exporter_leave_the_activity_working_and_are_counted_and_logged_once()
    {
        var sourceName = "TraceAgent.Test.Faults." + Guid.NewGuid().ToString("N");
        var exporter = new ThrowingExporter();
        var processor = new BatchSpanProcessor([exporter], new BatchSettings(60_000, 30_000, 2048, 512), 10_000);
        using var pipeline = new TracingPipeline(Sampler.Create("always_on", 1), processor, new SourceMatcher([sourceName]));
        pipeline.SetHooks(sourceName, new SpanHooks
        {
            Filter = _ => throw new InvalidOperationException("filter failed on purpose"),
            OnStart = _ => throw new InvalidOperationException("start hook failed on purpose"),
            OnStop = _ => throw new InvalidOperationException("stop hook failed on purpose"),
        });

        var captured = new StringWriter();
        var original = AgentLog.RedirectStderr(captured);
        try
        {
            pipeline.Start();
            using var source = new ActivitySource(sourceName);
            for (var i = 0; i < Spans; i++)
            {
                using var activity = source.StartActivity("work");

                // The app's activity exists, is sampled, carries its tags and stops normally.
                Assert.NotNull(activity);
                Assert.True(activity.Recorded);
                activity.SetTag("i", i);
                Assert.Same(activity, Activity.Current);
            }

            Assert.Null(Activity.Current);
            Assert.True(processor.ForceFlush(10_000));
            processor.Shutdown(1000);
        }
        finally
        {
            AgentLog.RedirectStderr(original);
            processor.Dispose();
        }

        // The spans reached the exporter, whose exception cost the batch and nothing else.
        Assert.True(exporter.Calls >= 1);
        Assert.Equal(Spans, processor.FailedCount);

        var counts = AgentFaults.Snapshot();
        Assert.Equal(Spans, counts["filter of " + sourceName + " spans"]);
        Assert.Equal(Spans, counts["start of " + sourceName + " span"]);
        Assert.Equal(Spans, counts["end of " + sourceName + " span"]);
        Assert.Equal(exporter.Calls, counts["exporter throwing test exporter"]);

        var lines = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var message in new[] { "filter failed on purpose", "start hook failed on purpose", "stop hook failed on purpose", "export failed on purpose" })
        {
            Assert.Single(lines, l => l.Contains(message, StringComparison.Ordinal) && l.Contains("fault contained", StringComparison.Ordinal));
        }
    }

    private sealed class ThrowingSampler : Sampler
    {
        public override string Description => "throwing test sampler";

        public override SamplingDecision ShouldSample(in SamplingParameters parameters) => throw new InvalidOperationException("sampler failed on purpose");
    }

    [Fact]
    public void A_throwing_sampler_leaves_an_unrecorded_activity_that_carries_the_context_on()
    {
        var sourceName = "TraceAgent.Test.Faults." + Guid.NewGuid().ToString("N");
        var processor = new BatchSpanProcessor([], new BatchSettings(60_000, 30_000, 2048, 512), 10_000);
        using var pipeline = new TracingPipeline(new ThrowingSampler(), processor, new SourceMatcher([sourceName]));
        var captured = new StringWriter();
        var original = AgentLog.RedirectStderr(captured);
        try
        {
            pipeline.Start();
            using var source = new ActivitySource(sourceName);
            var remote = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
            using (var activity = source.StartActivity("w3c parent", ActivityKind.Server, remote))
            {
                Assert.NotNull(activity);
                Assert.False(activity.IsAllDataRequested);
                Assert.Equal(remote.TraceId, activity.TraceId);
                Assert.Same(activity, Activity.Current);
            }

            using (var activity = source.StartActivity("hierarchical parent", ActivityKind.Server, "|abc.1."))
            {
                Assert.NotNull(activity);
                Assert.False(activity.IsAllDataRequested);
            }
        }
        finally
        {
            AgentLog.RedirectStderr(original);
            processor.Shutdown(1000);
            processor.Dispose();
        }

        Assert.Equal(0, processor.ExportedCount + processor.DroppedCount);
        Assert.True(AgentFaults.Snapshot()["sampler"] >= 2);
        Assert.Single(captured.ToString().Split('\n'), l => l.Contains("fault contained in sampler: InvalidOperationException: sampler failed on purpose (further faults here are counted, not logged)", StringComparison.Ordinal));
    }

    [Fact]
    public void Throwing_sampler_path_for_string_parents_returns_no_activity_instead_of_throwing()
    {
        // A hierarchical (non-W3C) parent id goes through SampleUsingParentId; whatever happens
        // there, creating the activity must not throw into the app.
        var sourceName = "TraceAgent.Test.Faults." + Guid.NewGuid().ToString("N");
        var processor = new BatchSpanProcessor([], new BatchSettings(60_000, 30_000, 2048, 512), 10_000);
        using var pipeline = new TracingPipeline(Sampler.Create("always_on", 1), processor, new SourceMatcher([sourceName]));
        pipeline.Start();
        using var source = new ActivitySource(sourceName);
        using (var activity = source.StartActivity("hierarchical", ActivityKind.Server, "|abc.1."))
        {
            Assert.NotNull(activity);
            Assert.True(activity.Recorded);
        }

        processor.Shutdown(1000);
        processor.Dispose();
    }
}
