using System.Diagnostics;

namespace OtelSdkHook;

/// <summary>
/// The benchmark's floor (BENCH_FLOOR): no tracer at all, only an ActivityListener on the sources
/// whose spans the frameworks make themselves (ASP.NET Core, HttpClient, Npgsql), which samples
/// every span and does nothing with it. The frameworks then start, tag, propagate and stop those
/// spans as they would for any tracer built on ActivitySource; nothing is processed, encoded or
/// sent. BENCH_FLOOR=record records every span (what any tracer at 100% starts from);
/// BENCH_FLOOR=propagate only propagates the context, recording nothing (a sampler that is off).
/// </summary>
internal static class RecordingFloor
{
    private static readonly HashSet<string> Sources = new(StringComparer.Ordinal) { "Microsoft.AspNetCore", "System.Net.Http", "Npgsql" };

    private static ActivityListener? s_listener;

    public static void Start(string mode)
    {
        var result = mode == "propagate" ? ActivitySamplingResult.PropagationData : ActivitySamplingResult.AllDataAndRecorded;
        s_listener = new ActivityListener
        {
            ShouldListenTo = source => Sources.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => result,
            SampleUsingParentId = (ref ActivityCreationOptions<string> _) => result,
        };
        ActivitySource.AddActivityListener(s_listener);
    }
}
