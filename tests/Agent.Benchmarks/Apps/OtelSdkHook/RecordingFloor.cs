using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OtelSdkHook;

/// <summary>
/// The benchmark's floor (BENCH_FLOOR): no tracer at all, only an ActivityListener on the sources
/// whose spans the frameworks make themselves (ASP.NET Core, HttpClient, Npgsql), which samples
/// every span and does nothing with it. The frameworks then start, tag, propagate and stop those
/// spans as they would for any tracer built on ActivitySource; nothing is processed, encoded or
/// sent. BENCH_FLOOR=record records every span (what any tracer at 100% starts from);
/// BENCH_FLOOR=propagate only propagates the context, recording nothing (a sampler that is off).
/// BENCH_FLOOR_METRICS=1 adds a MeterListener that turns on every instrument of the meters the agent
/// turns on by default and does nothing with the measurements: the frameworks then measure every
/// request, as they do for any metrics pipeline.
/// </summary>
internal static class RecordingFloor
{
    private static readonly HashSet<string> Sources = new(StringComparer.Ordinal) { "Microsoft.AspNetCore", "System.Net.Http", "Npgsql" };

    private static readonly HashSet<string> Meters = new(DefaultMeters.Names, StringComparer.Ordinal);

    private static ActivityListener? s_listener;
    private static MeterListener? s_meters;

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

        if (Environment.GetEnvironmentVariable("BENCH_FLOOR_METRICS") == "1")
        {
            StartMeters();
        }
    }

    private static void StartMeters()
    {
        s_meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (Meters.Contains(instrument.Meter.Name))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        s_meters.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
        s_meters.SetMeasurementEventCallback<int>(static (_, _, _, _) => { });
        s_meters.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
        s_meters.SetMeasurementEventCallback<float>(static (_, _, _, _) => { });
        s_meters.SetMeasurementEventCallback<short>(static (_, _, _, _) => { });
        s_meters.SetMeasurementEventCallback<byte>(static (_, _, _, _) => { });
        s_meters.SetMeasurementEventCallback<decimal>(static (_, _, _, _) => { });
        s_meters.Start();
    }
}
