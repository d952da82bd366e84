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
        var directory = Path.GetDirectoryName(typeof(StartupHook).Assembly.Location)!;
        AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            // Only the SDK's own assemblies: a framework assembly (the folder also holds a newer
            // System.Diagnostics.DiagnosticSource) must never be loaded twice.
            if (name.Name is null || !name.Name.StartsWith("OpenTelemetry", StringComparison.Ordinal))
            {
                return null;
            }

            var path = Path.Combine(directory, name.Name + ".dll");
            return File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
        };

        // The OpenTelemetry types are bound when Start is compiled, after the resolver exists.
        Start();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Start() => OtelSdkHook.SdkSetup.Start();
}
