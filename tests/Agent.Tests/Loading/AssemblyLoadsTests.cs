using System.Reflection;
using System.Runtime.Loader;
using TraceAgent.Loading;

namespace TraceAgent.Tests.Loading;

/// <summary>
/// The agent's one AssemblyLoad handler: every watcher sees each assembly the app loads, in the
/// order the watchers came, until it is removed, and a watcher removed while loads go on misses
/// nothing before and sees nothing after.
/// </summary>
public sealed class AssemblyLoadsTests
{
    [Fact]
    public void Watchers_see_each_load_in_the_order_they_came_until_each_is_removed()
    {
        var seen = new List<(string Watcher, Assembly Assembly)>();
        Action<Assembly> first = assembly => Record(seen, "first", assembly);
        Action<Assembly> second = assembly => Record(seen, "second", assembly);
        AssemblyLoads.Watch(first);
        AssemblyLoads.Watch(second);
        try
        {
            var both = LoadACopy();
            AssemblyLoads.Unwatch(first);
            var secondOnly = LoadACopy();
            AssemblyLoads.Unwatch(second);
            var none = LoadACopy();

            Assert.Equal([("first", both), ("second", both), ("second", secondOnly)], Of(seen, both, secondOnly, none));
        }
        finally
        {
            AssemblyLoads.Unwatch(first);
            AssemblyLoads.Unwatch(second);
        }
    }

    [Fact]
    public void Removing_a_watcher_that_is_not_watching_changes_nothing()
    {
        var seen = new List<(string Watcher, Assembly Assembly)>();
        Action<Assembly> watching = assembly => Record(seen, "watching", assembly);
        Action<Assembly> never = assembly => Record(seen, "never", assembly);
        AssemblyLoads.Watch(watching);
        try
        {
            AssemblyLoads.Unwatch(never);
            var loaded = LoadACopy();

            Assert.Equal([("watching", loaded)], Of(seen, loaded));
        }
        finally
        {
            AssemblyLoads.Unwatch(watching);
        }
    }

    private static void Record(List<(string, Assembly)> seen, string watcher, Assembly assembly)
    {
        lock (seen)
        {
            seen.Add((watcher, assembly));
        }
    }

    // Other tests load assemblies meanwhile: only this test's own loads are compared.
    private static List<(string, Assembly)> Of(List<(string Watcher, Assembly Assembly)> seen, params Assembly[] ours)
    {
        lock (seen)
        {
            return seen.Where(s => ours.Contains(s.Assembly)).ToList();
        }
    }

    // A new copy each time, in a context of its own, so that each is a load of its own.
    private static Assembly LoadACopy()
    {
        var context = new AssemblyLoadContext("assembly-loads-test", isCollectible: true);
        return context.LoadFromAssemblyPath(typeof(AssemblyLoads).Assembly.Location);
    }
}
