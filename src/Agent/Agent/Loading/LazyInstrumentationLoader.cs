using System.Reflection;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Instrumentation;
using TraceAgent.Logs;
using TraceAgent.Propagation;
using TraceAgent.Tracing;

namespace TraceAgent.Loading;

/// <summary>
/// Starts each enabled instrumentation when its library's assembly loads (or at once, if it is
/// already loaded). AssemblyLoad fires on the loading thread, possibly re-entrantly while an
/// instrumentation's own start loads further assemblies, hence the per-instrumentation flag.
/// </summary>
internal sealed class LazyInstrumentationLoader : IDisposable
{
    private readonly AgentSettings _settings;
    private readonly AgentPropagator _propagator;
    private readonly TracingPipeline _pipeline;
    private readonly string _agentDirectory;
    private readonly List<InstrumentationDescriptor> _pending;
    private readonly List<IDisposable> _started = [];
    private readonly object _gate = new();
    private readonly HashSet<string> _startedOrFailed = new(StringComparer.Ordinal);
    private readonly LogExport? _logs;
    private readonly Action<Assembly> _watcher;

    public LazyInstrumentationLoader(AgentSettings settings, AgentPropagator propagator, TracingPipeline pipeline, string agentDirectory, IEnumerable<InstrumentationDescriptor> enabled, LogExport? logs)
    {
        _logs = logs;
        _settings = settings;
        _propagator = propagator;
        _pipeline = pipeline;
        _agentDirectory = agentDirectory;
        _pending = enabled.ToList();
        _watcher = TryStartFor;
    }

    public void Start()
    {
        AssemblyLoads.Watch(_watcher);
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            TryStartFor(assembly);
        }
    }

    private void TryStartFor(Assembly assembly)
    {
        // Runs for every assembly the app loads, for as long as an instrumentation waits: FullName
        // is cached by the runtime, where GetName() would parse and allocate each time.
        string? fullName;
        try
        {
            fullName = assembly.FullName;
        }
        catch (Exception)
        {
            return;
        }

        if (fullName is null)
        {
            return;
        }

        InstrumentationDescriptor? descriptor = null;
        lock (_gate)
        {
            foreach (var candidate in _pending)
            {
                var trigger = candidate.TriggerAssembly;
                if (fullName.Length > trigger.Length && fullName[trigger.Length] == ',' && fullName.StartsWith(trigger, StringComparison.Ordinal)
                    && _startedOrFailed.Add(candidate.Id))
                {
                    descriptor = candidate;
                    break;
                }
            }

            if (descriptor is not null && _startedOrFailed.Count == _pending.Count)
            {
                // Every instrumentation has its library: stop watching assembly loads.
                AssemblyLoads.Unwatch(_watcher);
            }
        }

        if (descriptor is not null)
        {
            StartInstrumentation(descriptor, assembly);
        }
    }

    private void StartInstrumentation(InstrumentationDescriptor descriptor, Assembly library)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            Assembly implementation;
            if (descriptor.ImplementationAssembly is null)
            {
                implementation = typeof(LazyInstrumentationLoader).Assembly;
            }
            else
            {
                var path = Path.Combine(_agentDirectory, descriptor.ImplementationAssembly + ".dll");
                if (OtherBuild(path) is { } expected)
                {
                    AgentLog.Warning($"instrumentation {descriptor.Id} is off: {Path.GetFileName(path)} is from another build of the agent than TraceAgent.dll (its ReadyToRun code expects TraceAgent {expected}, loaded is {CoreMvid}; loading it would stop the app); the app runs on, untraced by it. Replace the whole agent folder with the files of one build");
                    SwitchOff(descriptor);
                    return;
                }

                implementation = Assembly.LoadFrom(path);
            }

            var type = implementation.GetType(descriptor.TypeName, throwOnError: true)!;
            var instrumentation = (IInstrumentation)Activator.CreateInstance(type)!;
            var context = new InstrumentationContext(descriptor.Id, descriptor.SettingsOf(_settings), _propagator, _pipeline, library, _logs);
            IDisposable? handle;
            if (ExecutionContext.IsFlowSuppressed())
            {
                handle = instrumentation.Start(context);
            }
            else
            {
                // A library first loaded inside a request starts its instrumentation there: a timer
                // or thread made now would capture that request's context (its Activity, the app's
                // AsyncLocals such as the HttpContext) and keep it for the life of the process.
                using (ExecutionContext.SuppressFlow())
                {
                    handle = instrumentation.Start(context);
                }
            }

            if (handle is not null)
            {
                lock (_gate)
                {
                    _started.Add(handle);
                }
            }

            AgentLog.Debug(string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"instrumentation {descriptor.Id} started for {library.GetName().Name} {library.GetName().Version} in {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.0} ms"));
        }
        catch (Exception ex)
        {
            var inner = (ex as TargetInvocationException)?.InnerException ?? ex;
            AgentLog.Warning($"instrumentation {descriptor.Id} is off: it could not start for {library.GetName().Name} {library.GetName().Version} ({inner.GetType().Name}: {inner.Message}); the app runs on, untraced by it");

            SwitchOff(descriptor);
            if (_settings.FailFast)
            {
                throw;
            }
        }
    }

    // The listener still hears the library's own activities; without the instrumentation they
    // would be exported bare (no name, no attributes): treat them as switched off.
    private void SwitchOff(InstrumentationDescriptor descriptor)
    {
        foreach (var source in descriptor.Sources)
        {
            _pipeline.SwitchOff(source);
        }
    }

    private static Guid CoreMvid => typeof(LazyInstrumentationLoader).Assembly.ManifestModule.ModuleVersionId;

    /// <summary>
    /// The core's MVID an instrumentation's ReadyToRun code was compiled against, when it is not
    /// the loaded core's (a folder mixing two builds); null when they match, or when the file has
    /// no such record (IL only) or cannot be read: then loading goes on as before.
    /// </summary>
    private static Guid? OtherBuild(string path)
    {
        try
        {
            var mvids = ReadyToRunManifest.DependencyMvids(path);
            // An array searched by index: List<Guid>'s search and enumerator have no precompiled
            // code, and this runs as each instrumentation loads.
            for (var i = 0; i < mvids.Length; i++)
            {
                if (mvids[i] == CoreMvid)
                {
                    return null;
                }
            }

            return mvids.Length == 0 ? null : mvids[0];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        catch (Exception ex)
        {
            AgentFaults.Report("reading the ReadyToRun manifest of " + Path.GetFileName(path), ex);
            return null;
        }
    }

    public void Dispose()
    {
        AssemblyLoads.Unwatch(_watcher);
        lock (_gate)
        {
            foreach (var handle in _started)
            {
                try
                {
                    handle.Dispose();
                }
                catch (Exception ex)
                {
                    AgentFaults.Report("instrumentation shutdown", ex);
                }
            }

            _started.Clear();
        }
    }
}
