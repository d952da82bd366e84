using System.Text;

namespace TraceAgent.Propagation;

// One StringBuilder per thread for the inject path, which runs for every outgoing request.
internal static class StringBuilderCache
{
    private const int MaxCachedCapacity = 16 * 1024;

    [ThreadStatic]
    private static StringBuilder? t_cached;

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
