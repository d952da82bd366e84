using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime;
using System.Runtime.ExceptionServices;

namespace TraceAgent.Metrics;

/// <summary>
/// The System.Runtime meter for .NET 8, which has none (it came with .NET 9): the same instrument
/// names, units and attributes as the runtime's own (the semantic conventions' dotnet.* metrics),
/// observed from the GC, thread pool, JIT and process APIs that .NET 8 has. On .NET 9 and later the
/// runtime's meter is used and this one is never made.
/// </summary>
internal static class Net8RuntimeMeter
{
    private static readonly string[] GenerationNames = ["gen0", "gen1", "gen2", "loh", "poh"];

#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static bool t_inFirstChance;
#pragma warning restore IDE1006

    /// <summary>Whether the runtime lacks a System.Runtime meter of its own.</summary>
    public static bool Needed => Environment.Version.Major < 9;

    public static Meter Create()
    {
        var meter = new Meter(MetricsInstrumentations.RuntimeMeter);
        var generations = Math.Min(GC.GetGCMemoryInfo().GenerationInfo.Length, GenerationNames.Length);

        meter.CreateObservableCounter("dotnet.gc.collections", CollectionCounts, "{collection}", "The number of garbage collections that have occurred since the process has started.");
        meter.CreateObservableUpDownCounter("dotnet.process.memory.working_set", () => Environment.WorkingSet, "By", "The number of bytes of physical memory mapped to the process context.");
        meter.CreateObservableCounter("dotnet.gc.heap.total_allocated", () => GC.GetTotalAllocatedBytes(), "By", "The approximate number of bytes allocated on the managed GC heap since the process has started. The returned value does not include any native allocations.");
        meter.CreateObservableUpDownCounter("dotnet.gc.last_collection.memory.committed_size", () => GC.GetGCMemoryInfo().TotalCommittedBytes, "By", "The amount of committed virtual memory in use by the .NET GC, as observed during the latest garbage collection.");
        meter.CreateObservableUpDownCounter("dotnet.gc.last_collection.heap.size", () => PerGeneration(generations, static g => g.SizeAfterBytes), "By", "The managed GC heap size (including fragmentation), as observed during the latest garbage collection.");
        meter.CreateObservableUpDownCounter("dotnet.gc.last_collection.heap.fragmentation.size", () => PerGeneration(generations, static g => g.FragmentationAfterBytes), "By", "The heap fragmentation, as observed during the latest garbage collection.");
        meter.CreateObservableCounter("dotnet.gc.pause.time", () => GC.GetTotalPauseDuration().TotalSeconds, "s", "The total amount of time paused in GC since the process has started.");
        meter.CreateObservableCounter("dotnet.jit.compiled_il.size", () => JitInfo.GetCompiledILBytes(), "By", "Count of bytes of intermediate language that have been compiled since the process has started.");
        meter.CreateObservableCounter("dotnet.jit.compiled_methods", () => JitInfo.GetCompiledMethodCount(), "{method}", "The number of times the JIT compiler (re)compiled methods since the process has started.");
        meter.CreateObservableCounter("dotnet.jit.compilation.time", () => JitInfo.GetCompilationTime().TotalSeconds, "s", "The amount of time the JIT compiler has spent compiling methods since the process has started.");
        meter.CreateObservableCounter("dotnet.monitor.lock_contentions", () => Monitor.LockContentionCount, "{contention}", "The number of times there was contention when trying to acquire a monitor lock since the process has started.");
        meter.CreateObservableUpDownCounter("dotnet.thread_pool.thread.count", () => (long)ThreadPool.ThreadCount, "{thread}", "The number of thread pool threads that currently exist.");
        meter.CreateObservableCounter("dotnet.thread_pool.work_item.count", () => ThreadPool.CompletedWorkItemCount, "{work_item}", "The number of work items that the thread pool has completed since the process has started.");
        meter.CreateObservableUpDownCounter("dotnet.thread_pool.queue.length", () => ThreadPool.PendingWorkItemCount, "{work_item}", "The number of work items that are currently queued to be processed by the thread pool.");
        meter.CreateObservableUpDownCounter("dotnet.timer.count", () => Timer.ActiveCount, "{timer}", "The number of timer instances that are currently active.");
        meter.CreateObservableUpDownCounter("dotnet.assembly.count", () => (long)AppDomain.CurrentDomain.GetAssemblies().Length, "{assembly}", "The number of .NET assemblies that are currently loaded.");
        meter.CreateObservableUpDownCounter("dotnet.process.cpu.count", () => (long)Environment.ProcessorCount, "{cpu}", "The number of processors available to the process.");
        meter.CreateObservableCounter("dotnet.process.cpu.time", CpuTime, "s", "CPU time used by the process.");

        var exceptions = meter.CreateCounter<long>("dotnet.exceptions", "{exception}", "The number of exceptions that have been thrown in managed code.");
        AppDomain.CurrentDomain.FirstChanceException += (_, e) => CountException(exceptions, e);
        return meter;
    }

    private static void CountException(Counter<long> exceptions, FirstChanceExceptionEventArgs e)
    {
        // An exception thrown while counting one must not be counted (nor recurse).
        if (t_inFirstChance)
        {
            return;
        }

        t_inFirstChance = true;
        try
        {
            exceptions.Add(1, new KeyValuePair<string, object?>("error.type", e.Exception.GetType().Name));
        }
        catch (Exception)
        {
            // Never into the app.
        }
        finally
        {
            t_inFirstChance = false;
        }
    }

    private static IEnumerable<Measurement<long>> CollectionCounts()
    {
        // GC.CollectionCount(n) includes the collections of higher generations; the conventions
        // count each collection once, under the generation it collected.
        long higher = 0;
        for (var gen = GC.MaxGeneration; gen >= 0; gen--)
        {
            long count = GC.CollectionCount(gen);
            yield return new Measurement<long>(count - higher, new KeyValuePair<string, object?>("gc.heap.generation", GenerationNames[gen]));
            higher = count;
        }
    }

    private static IEnumerable<Measurement<long>> PerGeneration(int generations, Func<GCGenerationInfo, long> value)
    {
        var info = GC.GetGCMemoryInfo().GenerationInfo;
        var result = new List<Measurement<long>>(generations);
        for (var i = 0; i < generations && i < info.Length; i++)
        {
            result.Add(new Measurement<long>(value(info[i]), new KeyValuePair<string, object?>("gc.heap.generation", GenerationNames[i])));
        }

        return result;
    }

    private static IEnumerable<Measurement<double>> CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return
        [
            new Measurement<double>(process.UserProcessorTime.TotalSeconds, new KeyValuePair<string, object?>("cpu.mode", "user")),
            new Measurement<double>(process.PrivilegedProcessorTime.TotalSeconds, new KeyValuePair<string, object?>("cpu.mode", "system")),
        ];
    }
}
