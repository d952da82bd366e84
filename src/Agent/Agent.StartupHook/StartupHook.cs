using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

/// <summary>
/// The agent's startup hook: run by the runtime before the app's Main when DOTNET_STARTUP_HOOKS
/// names this file.
/// </summary>
/// <remarks>
/// Why it is built this way:
/// - It references nothing but the BCL and decides, before any agent type is touched, whether to
///   trace at all: OTEL_SDK_DISABLED, excluded processes, the dotnet CLI and build servers (never
///   trace `dotnet build`), the runtime version, and an app that carries its own OpenTelemetry SDK
///   (the API alone is no reason: it exports nothing).
/// - It is compiled for .NET Core 3.0, the first runtime that runs startup hooks, and uses only what
///   that runtime has: a hook compiled for a newer runtime fails to load on an older one, and that
///   failure happens before any code here runs, so it kills the app (exit 134). Compiled this way,
///   the hook loads everywhere and the "too old" decision is its own, one line and no crash.
/// - The agent's assemblies are built once per runtime it traces, in subfolders net8.0/, net9.0/,
///   net10.0/ (the same code, each ReadyToRun for its runtime: a runtime uses no ReadyToRun code
///   compiled for another, and would JIT the agent's start-up instead). The hook loads the build of
///   the running runtime, or of the newest runtime older than it (a newer runtime runs it JIT-compiled).
/// - The agent's assemblies are not in the app's deps.json, so they are not in the trusted platform
///   assemblies (TPA) list. AssemblyLoadContext.Default.Resolving fires only for names that are not
///   in that list, and the agent ships only assemblies named TraceAgent.*, which no app has: the
///   resolver can load them from this folder into the default context without ever changing which
///   version of any other assembly the app binds to. The agent depends on nothing outside the
///   framework (System.Diagnostics.DiagnosticSource is the framework's own, so Activity is one type
///   for the app, the framework and the agent).
/// - The agent is entered by reflection after the resolver is installed, so the JIT never needs an
///   agent type while compiling this method.
/// - Nothing may escape Initialize: an exception here kills the app. Every failure is one line on
///   stderr and the app runs untraced, unless OTEL_DOTNET_AUTO_FAIL_FAST_ENABLED=true.
/// </remarks>
internal static class StartupHook
{
    private const string AgentAssemblyPrefix = "TraceAgent.";
    private const int OldestTracedRuntime = 8;
    private static readonly string[] BuildTools = ["dotnet", "MSBuild", "VBCSCompiler", "csc", "vbc", "NuGet.Build.Tasks.Console", "dotnet-watch"];

    public static void Initialize()
    {
        var failFast = IsTrue("OTEL_DOTNET_AUTO_FAIL_FAST_ENABLED");
        try
        {
            var reason = ReasonNotToTrace(out var level);
            if (reason is not null)
            {
                if (reason.Length > 0)
                {
                    Log(level, reason);
                }

                return;
            }

            var directory = Path.GetDirectoryName(typeof(StartupHook).Assembly.Location);
            if (string.IsNullOrEmpty(directory))
            {
                Log("error", "cannot tell where the agent is installed; the app runs untraced");
                return;
            }

            var build = BuildFor(directory, Environment.Version.Major);
            if (build is null)
            {
                Log("error", "no build of the agent for runtime " + Environment.Version + " in " + directory + "; the app runs untraced");
                return;
            }

            AssemblyLoadContext.Default.Resolving += (context, name) => Resolve(build, context, name);
            StartAgent(build);
        }
        catch (Exception ex)
        {
            var inner = ex is TargetInvocationException { InnerException: not null } ? ex.InnerException! : ex;
            Log("error", "the agent failed to start and the app runs untraced: " + inner.GetType().FullName + ": " + inner.Message);
            if (failFast)
            {
                throw;
            }
        }
    }

    /// <summary>The subfolder netN.0 with the highest N not above the runtime's major version.</summary>
    private static string? BuildFor(string directory, int major)
    {
        for (var version = major; version >= OldestTracedRuntime; version--)
        {
            var candidate = Path.Combine(directory, "net" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".0");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartAgent(string directory)
    {
        var path = Path.Combine(directory, "TraceAgent.dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException("the agent's core assembly is missing from " + directory, path);
        }

        var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(path);
        var bootstrap = assembly.GetType("TraceAgent.Loading.AgentBootstrap", throwOnError: true)!;
        bootstrap.GetMethod("Initialize", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, [directory]);
    }

    private static Assembly? Resolve(string directory, AssemblyLoadContext context, AssemblyName name)
    {
        if (name.Name is null || !name.Name.StartsWith(AgentAssemblyPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var path = Path.Combine(directory, name.Name + ".dll");
        return File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
    }

    /// <summary>Null to trace; otherwise why not (empty: say nothing), and how loudly.</summary>
    private static string? ReasonNotToTrace(out string level)
    {
        level = "info";
        if (IsTrue("OTEL_SDK_DISABLED"))
        {
            return string.Empty;
        }

        var entry = Assembly.GetEntryAssembly()?.GetName().Name ?? string.Empty;
        foreach (var tool in BuildTools)
        {
            if (string.Equals(entry, tool, StringComparison.OrdinalIgnoreCase))
            {
                return string.Empty;
            }
        }

        var excluded = Environment.GetEnvironmentVariable("OTEL_DOTNET_AUTO_EXCLUDE_PROCESSES");
        if (!string.IsNullOrWhiteSpace(excluded))
        {
            // Only here: the host's name is read by reflection (2.3 ms of the hook's checks in a
            // console app, part of it the process's first reflection), which every start would
            // pay for a list that is nearly always unset.
            var process = Path.GetFileNameWithoutExtension(ProcessPath()) ?? string.Empty;
            foreach (var untrimmed in excluded.Split(','))
            {
                var item = untrimmed.Trim();
                if (item.Length == 0)
                {
                    continue;
                }

                // Only .exe and .dll are extensions here: "My.App" names the app My.App.
                var name = item.EndsWith(".exe", StringComparison.OrdinalIgnoreCase) || item.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
                    ? item.Substring(0, item.Length - 4)
                    : item;
                if (string.Equals(name, process, StringComparison.OrdinalIgnoreCase) || string.Equals(name, entry, StringComparison.OrdinalIgnoreCase))
                {
                    return string.Empty;
                }
            }
        }

        if (Environment.Version.Major < OldestTracedRuntime)
        {
            // A warning: whoever set the hook expected traces from this app.
            level = "warn";
            return "runtime " + Environment.Version + " is not supported (the agent needs .NET " + OldestTracedRuntime + " or later); the app runs untraced";
        }

        // Only the SDK (OpenTelemetry.dll) exports: an app with it would see every span twice. The
        // API alone (OpenTelemetry.Api.dll, often brought in by a library) makes ActivitySources
        // and has no exporter, so such an app is traced like any other.
        var appSdk = FindInTrustedPlatformAssemblies("OpenTelemetry.dll");
        if (appSdk is not null)
        {
            return "the app carries its own OpenTelemetry SDK " + FileVersion(appSdk) + " (" + appSdk + "); the agent "
                + FileVersion(typeof(StartupHook).Assembly.Location) + " would export every span twice, so it leaves this app untraced";
        }

        return null;
    }

    /// <summary>
    /// The path of <paramref name="fileName"/> in the trusted platform assemblies list, found in
    /// the list as it is: splitting its couple of hundred paths into strings took about 1 ms of
    /// the hook's checks. A match counts only as a whole file name: after a directory separator
    /// (or the list's start or a path separator) and before a path separator or the list's end.
    /// </summary>
    private static string? FindInTrustedPlatformAssemblies(string fileName)
    {
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is not string list)
        {
            return null;
        }

        var at = 0;
        while ((at = list.IndexOf(fileName, at, StringComparison.OrdinalIgnoreCase)) >= 0)
        {
            var end = at + fileName.Length;
            var whole = (at == 0 || list[at - 1] == Path.DirectorySeparatorChar || list[at - 1] == Path.AltDirectorySeparatorChar || list[at - 1] == Path.PathSeparator)
                && (end == list.Length || list[end] == Path.PathSeparator);
            if (whole)
            {
                var start = list.LastIndexOf(Path.PathSeparator, at) + 1;
                return list.Substring(start, end - start);
            }

            at = end;
        }

        return null;
    }

    private static string FileVersion(string path)
    {
        try
        {
            var version = System.Diagnostics.FileVersionInfo.GetVersionInfo(path).ProductVersion ?? "?";
            var plus = version.IndexOf('+', StringComparison.Ordinal);
            return plus > 0 ? version.Substring(0, plus) : version;
        }
        catch (Exception)
        {
            return "?";
        }
    }

    /// <summary>Environment.ProcessPath exists from .NET 6 on; on older runtimes (never traced) the name is unknown.</summary>
    private static string? ProcessPath() =>
        typeof(Environment).GetProperty("ProcessPath", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as string;

    /// <summary>
    /// Whether OTEL_LOG_LEVEL hides a line of this level ("error", "warn" or "info": the only ones the
    /// hook writes). The core's parser (SettingsParser.ParseLogLevel) also reports a bad value; this
    /// copy only has to stay quiet when asked to. It is a copy, not a file linked into both projects,
    /// because the hook must run before the core is loaded, on any runtime from .NET Core 3.0, as one
    /// file of BCL calls in the global namespace: a shared file would have to compile for both
    /// netcoreapp3.0 and the core's frameworks and would bring a second type into the hook. An
    /// unknown value shows everything, as the core's default (info) shows everything the hook writes.
    /// </summary>
    private static bool Silenced(string level)
    {
        var configured = Environment.GetEnvironmentVariable("OTEL_LOG_LEVEL")?.Trim().ToLowerInvariant();
        return configured switch
        {
            "none" or "off" => true,
            "error" => level != "error",
            "warn" or "warning" => level == "info",
            _ => false,
        };
    }

    private static bool IsTrue(string name) =>
        string.Equals(Environment.GetEnvironmentVariable(name)?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    private static void Log(string level, string message)
    {
        if (Silenced(level))
        {
            return;
        }

        try
        {
            Console.Error.WriteLine("[traceagent] " + DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture) + " " + level + " " + message.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ').Replace('\r', ' '));
        }
        catch (Exception)
        {
            // stderr closed: nothing to tell, nothing to break.
        }
    }
}
