using System.Text;

namespace TraceAgent.Propagation;

// One StringBuilder per thread for the inject path, which runs for every outgoing request.
internal static class StringBuilderCache
{
    private const int MaxCachedCapacity = 16 * 1024;

#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static StringBuilder? t_cached;
#pragma warning restore IDE1006

    public static StringBuilder Acquire()
    {
        StringBuilder? builder = t_cached;
        if (builder is null)
        {
            return new StringBuilder(256);
        }

        t_cached = null;
        builder.Clear();
        return builder;
    }

    public static string GetStringAndRelease(StringBuilder builder)
    {
        string result = builder.ToString();
        Release(builder);
        return result;
    }

    public static void Release(StringBuilder builder)
    {
        if (builder.Capacity <= MaxCachedCapacity)
        {
            t_cached = builder;
        }
    }
}
