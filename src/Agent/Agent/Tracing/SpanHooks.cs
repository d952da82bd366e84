using System.Diagnostics;

namespace TraceAgent.Tracing;

/// <summary>What an instrumentation does with the spans of one ActivitySource.</summary>
public sealed class SpanHooks
{
    /// <summary>Called when a sampled span of the source starts (for example to rename or tag it).</summary>
    public Action<Activity>? OnStart { get; init; }

    /// <summary>Called when a sampled span of the source stops, before it is queued for export.</summary>
    public Action<Activity>? OnStop { get; init; }

    /// <summary>Return false to drop a span of the source before it is created.</summary>
    public Func<ActivityCreationOptions<ActivityContext>, bool>? Filter { get; init; }
}
