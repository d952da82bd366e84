namespace TraceAgent.Bench;

/// <summary>The suite's lists of configurations, comparisons and workloads, looked up by key.</summary>
internal static class Keyed
{
    /// <summary>The item with this key; an unknown key is an error that lists the known ones.</summary>
    public static T Find<T>(IReadOnlyList<T> all, Func<T, string> keyOf, string key, string what)
        where T : class =>
        all.FirstOrDefault(item => keyOf(item) == key) ?? throw new ArgumentException($"unknown {what} {key} (known: {string.Join(",", all.Select(keyOf))})");

    /// <summary>Every item, or the ones picked on the command line, in the order given.</summary>
    public static IEnumerable<T> Picked<T>(IReadOnlyList<T> all, Func<T, string> keyOf, IReadOnlyList<string>? keys, string what)
        where T : class =>
        keys is null ? all : keys.Select(key => Find(all, keyOf, key, what));
}
