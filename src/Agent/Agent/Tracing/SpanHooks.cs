using System.Diagnostics;
using TraceAgent.Diagnostics;

namespace TraceAgent.Tracing;

/// <summary>What an instrumentation does with the spans of one ActivitySource.</summary>
public sealed class SpanHooks
{
    /// <summary>Called when a sampled span of the source starts (for example to rename or tag it).</summary>
    public Action<Activity>? OnStart { get; init; }

    /// <summary>Called when a sampled span of the source stops, before it is queued for export.</summary>
    public Action<Activity>? OnStop { get; init; }

    /// <summary>
    /// Called when a span held without the sampled flag (its trace kept only if it turns out to
    /// have an error or be slow, docs/sampling.md) ends and its trace is not dropped at that moment,
    /// after <see cref="OnStop"/>. An instrumentation that leaves held spans untagged, so that the
    /// traces the policy drops cost little, tags them here.
    /// </summary>
    public Action<Activity>? OnHeldEnd { get; init; }

    /// <summary>
    /// Called for a held span when its trace is kept, just before it is queued for export (on the
    /// thread that decided). Work on the span's own data that <see cref="OnStop"/> leaves undone
    /// for held spans goes here: most held traces are dropped, and work on them is wasted.
    /// </summary>
    public Action<Activity>? OnKept { get; init; }

    /// <summary>
    /// Writes attributes of a sampled span into its encoding as it ends, after <see cref="OnStop"/>,
    /// on the thread that ends it, instead of setting them on its Activity (each a list node the
    /// runtime allocates, and a search of the list) only for the encoder to read them back. Called
    /// only when OTLP is the only trace exporter (<see cref="Instrumentation.InstrumentationContext.EncodesSpansAsTheyEnd"/>);
    /// not for held spans (<see cref="OnHeldEnd"/>). An instrumentation that sets it must still
    /// tag the Activity itself when the context says spans are not encoded as they end.
    /// </summary>
    public SpanAttributeWriter? WriteAttributes { get; init; }

    /// <summary>Return false to drop a span of the source before it is created.</summary>
    public Func<ActivityCreationOptions<ActivityContext>, bool>? Filter { get; init; }

    /// <summary>Runs a hook; one that throws is counted as a fault and the span goes on.</summary>
    internal static void Run(Action<Activity>? hook, Activity activity, string stage)
    {
        if (hook is null)
        {
            return;
        }

        try
        {
            hook(activity);
        }
        catch (Exception ex)
        {
            AgentFaults.Report(stage + " of " + activity.Source.Name + " span", ex);
        }
    }
}
