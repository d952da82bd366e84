using System.Diagnostics;

namespace TraceAgent.Tests.Instrumentations;

/// <summary>
/// An ActivitySource of the test's own with an in-process ActivityListener that records everything:
/// the span an instrumentation receives from its library, made here so the instrumentation's
/// tagging can be checked without a process and an exporter.
/// </summary>
internal sealed class TestSpans : IDisposable
{
    private readonly ActivitySource _source = new("TraceAgent.Tests." + Guid.NewGuid().ToString("N"));
    private readonly ActivityListener _listener;

    public TestSpans()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => ReferenceEquals(source, _source),
            // Parent-based, as the agent's default sampler: a root is sampled, a child follows its parent.
            Sample = static (ref ActivityCreationOptions<ActivityContext> options) =>
                options.Parent == default || (options.Parent.TraceFlags & ActivityTraceFlags.Recorded) != 0
                    ? ActivitySamplingResult.AllDataAndRecorded
                    : ActivitySamplingResult.AllData,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public Activity Start(string name, ActivityKind kind, ActivityContext parent = default) =>
        _source.StartActivity(name, kind, parent) ?? throw new InvalidOperationException("the listener made no span");

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
    }
}
