using System.Runtime.CompilerServices;
using System.Runtime.Loader;

/// <summary>
/// Loaded by the runtime through DOTNET_STARTUP_HOOKS. The app's deps.json knows nothing of the
/// OpenTelemetry assemblies, so they are resolved from this hook's own folder; everything the app
/// or the framework already has (Microsoft.Extensions.*, System.Diagnostics.DiagnosticSource)
/// binds to the app's copy, as it would in an app that referenced the SDK itself.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        // The benchmark's floor: a bare listener, no OpenTelemetry assembly loaded.
        if (Environment.GetEnvironmentVariable("BENCH_FLOOR") is { Length: > 0 } floor)
        {
            OtelSdkHook.RecordingFloor.Start(floor);
            return;
        }

        var directory = Path.GetDirectoryName(typeof(StartupHook).Assembly.Location)!;
        AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            if (name.Name is null)
            {
                return null;
            }

            // The SDK's own assemblies. A framework assembly (the folder also holds a newer
            // System.Diagnostics.DiagnosticSource) must never be loaded twice.
            if (name.Name.StartsWith("OpenTelemetry", StringComparison.Ordinal))
            {
                return LoadIfPresent(context, directory, name.Name);
            }

            // A console app (the per-operation benchmark's) has no Microsoft.Extensions.* or
            // Microsoft.AspNetCore.* of its own (the ASP.NET Core instrumentation's listener needs
            // the latter's types, and stays idle): they come from the ASP.NET Core shared framework
            // of the same version, as a web app's do. This runs only when the app's binding failed.
            if (name.Name.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal) || name.Name.StartsWith("Microsoft.AspNetCore.", StringComparison.Ordinal))
            {
                var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
                return LoadIfPresent(context, Path.Combine(runtime, "..", "..", "Microsoft.AspNetCore.App", Path.GetFileName(runtime)), name.Name);
            }

            return null;
        };

        // The OpenTelemetry types are bound when Start is compiled, after the resolver exists.
        Start();
    }

    private static System.Reflection.Assembly? LoadIfPresent(AssemblyLoadContext context, string directory, string name)
    {
        var path = Path.Combine(directory, name + ".dll");
        return File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Start() => OtelSdkHook.SdkSetup.Start();
}
