using System.Reflection;

namespace TraceAgent.Loading;

/// <summary>
/// The agent's one handler of <see cref="AppDomain.AssemblyLoad"/>, for every part of it that waits
/// for an assembly (the instrumentation loader, EF Core's look for a provider). Two handlers of the
/// agent's on the event would make it a multicast delegate, whose invoke stub the runtime compiles,
/// with full optimization, at the next assembly load: in the app's start, and for no app's benefit.
/// Watchers are called in the order they were added, on the loading thread, as the event's handlers
/// were; a watcher added or removed while one is called takes effect from the next load.
/// </summary>
internal static class AssemblyLoads
{
    private static readonly object Gate = new();
    private static Action<Assembly>[] s_watchers = [];

    public static void Watch(Action<Assembly> watcher)
    {
        lock (Gate)
        {
            var current = s_watchers;
            var watchers = new Action<Assembly>[current.Length + 1];
            current.CopyTo(watchers, 0);
            watchers[^1] = watcher;
            if (current.Length == 0)
            {
                AppDomain.CurrentDomain.AssemblyLoad += OnLoad;
            }

            Volatile.Write(ref s_watchers, watchers);
        }
    }

    /// <summary>Stops calling <paramref name="watcher"/> (the instance given to Watch); nothing if it is not watching.</summary>
    public static void Unwatch(Action<Assembly> watcher)
    {
        lock (Gate)
        {
            var current = s_watchers;
            var index = -1;
            for (var i = 0; i < current.Length; i++)
            {
                if (ReferenceEquals(current[i], watcher))
                {
                    index = i;
                    break;
                }
            }

            if (index < 0)
            {
                return;
            }

            var watchers = new Action<Assembly>[current.Length - 1];
            Array.Copy(current, 0, watchers, 0, index);
            Array.Copy(current, index + 1, watchers, index, current.Length - index - 1);
            if (watchers.Length == 0)
            {
                AppDomain.CurrentDomain.AssemblyLoad -= OnLoad;
            }

            Volatile.Write(ref s_watchers, watchers);
        }
    }

    private static void OnLoad(object? sender, AssemblyLoadEventArgs args)
    {
        foreach (var watcher in Volatile.Read(ref s_watchers))
        {
            watcher(args.LoadedAssembly);
        }
    }
}
