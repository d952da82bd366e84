namespace TraceAgent.Tracing;

/// <summary>
/// Marks the agent's own work on the current thread (its export calls) so that no span is made of
/// it. HttpClient starts its Activity synchronously inside SendAsync, before the first await, so a
/// thread-local flag around that call is enough and costs nothing on the app's threads.
/// </summary>
public static class Suppression
{
#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static int t_depth;
#pragma warning restore IDE1006

    public static bool IsActive => t_depth > 0;

    public static Scope Begin()
    {
        t_depth++;
        return default;
    }

    public readonly struct Scope : IDisposable
    {
        public void Dispose() => t_depth--;
    }
}
