using System.Text;

namespace TraceAgent.Propagation;

// One StringBuilder per thread for the inject path, which runs for every outgoing request.
internal static class StringBuilderCache
{
    private const int MaxCachedCapacity = 16 * 1024;

    [ThreadStatic]
    private static StringBuilder? _cached;

    public static StringBuilder Acquire()
    {
        StringBuilder? builder = _cached;
        if (builder is null)
        {
            return new StringBuilder(256);
        }

        _cached = null;
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
            _cached = builder;
        }
    }
}
