using System.Runtime.CompilerServices;

namespace TraceAgent.Export;

/// <summary>
/// How the export thread's per-batch code is compiled. A method that runs once per batch is called
/// a few dozen times a second under load: often enough for the tiered JIT to compile it twice more
/// in a process's first seconds (from its ReadyToRun code to an instrumented version, then to the
/// final one with the profile it collected), on the cores the app's first requests need. Marked with
/// <see cref="CompiledOnce"/>, it is compiled once, optimized, when the first batch is exported (on
/// the export thread, seconds after start-up), and never again; code that runs once per batch gains
/// nothing from a profile. Code that runs per span stays precompiled: it first runs inside the app's
/// first request, which a compilation there would delay. docs/performance.md has the measurements.
/// </summary>
internal static class ExportThread
{
    public const MethodImplOptions CompiledOnce = MethodImplOptions.AggressiveOptimization;
}
