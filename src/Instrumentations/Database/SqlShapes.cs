using System.Collections.Concurrent;

namespace TraceAgent.Instrumentation.Database;

/// <summary>What the agent derives from one SQL text: its summary, operation, table and masked text.</summary>
internal sealed record SqlShape(string? Summary, string? Operation, string? Collection, int Statements, string Sanitized);

/// <summary>
/// Apps run the same few SQL texts over and over: each is read once and its shape reused, so a
/// command span costs a dictionary lookup, not a scan of the SQL. Bounded: an app that builds
/// unbounded distinct SQL (literals inlined) empties the cache instead of growing it.
/// </summary>
internal static class SqlShapes
{
    private const int Capacity = 2048;
    private static readonly ConcurrentDictionary<string, SqlShape> Cache = new(StringComparer.Ordinal);

    /// <summary>The shapes held now.</summary>
    internal static int Count => Cache.Count;

    public static SqlShape Of(string sql)
    {
        if (Cache.TryGetValue(sql, out var shape))
        {
            return shape;
        }

        var (summary, operation, collection, statements) = SqlText.Summarize(sql);
        shape = new SqlShape(summary, operation, collection, statements, SqlText.Sanitize(sql));
        if (Cache.Count >= Capacity)
        {
            Cache.Clear();
        }

        Cache[sql] = shape;
        return shape;
    }
}
