using System.Text;

namespace TraceAgent.Instrumentation.Database;

/// <summary>
/// Reads SQL text without a parser: masks literals and finds each statement's operation and first
/// table, enough for db.query.summary, db.operation.name and db.collection.name.
/// </summary>
internal static class SqlText
{
    private const int MaxLength = 16 * 1024;

    /// <summary>Replaces string, dollar-quoted and numeric literals with '?'; keeps $1-style parameters.</summary>
    public static string Sanitize(string sql)
    {
        var text = new StringBuilder(Math.Min(sql.Length, MaxLength));
        var i = 0;
        while (i < sql.Length && text.Length < MaxLength)
        {
            var c = sql[i];
            if (c == '\'' || ((c == 'E' || c == 'e') && i + 1 < sql.Length && sql[i + 1] == '\'' && !IsIdentifierChar(Previous(sql, i))))
            {
                i = SkipQuoted(sql, c == '\'' ? i : i + 1);
                text.Append('?');
            }
            else if (c == '$' && i + 1 < sql.Length && (sql[i + 1] == '$' || char.IsLetter(sql[i + 1])) && TryDollarQuote(sql, i, out var end))
            {
                i = end;
                text.Append('?');
            }
            else if (c == '"')
            {
                var start = i;
                i = SkipQuoted(sql, i, '"');
                text.Append(sql, start, i - start);
            }
            else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                // A comment may hold anything: drop it.
                while (i < sql.Length && sql[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                var close = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = close < 0 ? sql.Length : close + 2;
            }
            else if (char.IsAsciiDigit(c) && !IsIdentifierChar(Previous(sql, i)) && Previous(sql, i) != '$')
            {
                while (i < sql.Length && (char.IsAsciiDigit(sql[i]) || sql[i] == '.' || sql[i] == 'e' || sql[i] == 'E' || sql[i] == '_'))
                {
                    i++;
                }

                text.Append('?');
            }
            else
            {
                text.Append(c);
                i++;
            }
        }

        return text.ToString();
    }

    /// <summary>The statements' operations and first tables, e.g. "SELECT orders" or "INSERT items; SELECT items".</summary>
    public static SqlSummary Summarize(string sql)
    {
        var parts = new List<(string Operation, string? Table)>();
        foreach (var statement in SplitStatements(sql))
        {
            var words = Words(statement, 64);
            if (words.Count == 0)
            {
                continue;
            }

            var operation = words[0].ToUpperInvariant();
            string? table = null;
            var keyword = operation switch
            {
                "SELECT" => "FROM",
                "DELETE" => "FROM",
                "INSERT" => "INTO",
                "UPDATE" => null,
                _ => string.Empty,
            };
            if (operation == "UPDATE" && words.Count > 1)
            {
                table = words[1];
            }
            else if (!string.IsNullOrEmpty(keyword))
            {
                var index = words.FindIndex(w => string.Equals(w, keyword, StringComparison.OrdinalIgnoreCase));
                if (index >= 0 && index + 1 < words.Count)
                {
                    table = words[index + 1];
                }
            }

            if (operation is "WITH" or "BEGIN" or "COMMIT" or "ROLLBACK" or "CREATE" or "DROP" or "ALTER" or "TRUNCATE" or "SET" or "SHOW" or "CALL" or "COPY" or "LISTEN" or "NOTIFY" or "EXPLAIN" or "VACUUM" or "ANALYZE" or "SAVEPOINT" or "RELEASE" or "SELECT" or "INSERT" or "UPDATE" or "DELETE" or "MERGE" or "DO" or "PREPARE" or "EXECUTE" or "DEALLOCATE")
            {
                parts.Add((operation, table is null ? null : CleanName(table)));
            }
            else
            {
                parts.Add((operation.Length <= 16 ? operation : operation[..16], null));
            }
        }

        if (parts.Count == 0)
        {
            return new SqlSummary(null, null, null, 0);
        }

        // A loop, not LINQ over the tuples: Select over a list of value tuples is a framework
        // generic no precompiled image holds, compiled in every process at its first query.
        var summary = new StringBuilder();
        for (var i = 0; i < parts.Count; i++)
        {
            var (operation, table) = parts[i];
            if (i > 0)
            {
                summary.Append("; ");
            }

            summary.Append(operation);
            if (table is not null)
            {
                summary.Append(' ').Append(table);
            }
        }

        if (parts.Count == 1)
        {
            return new SqlSummary(summary.ToString(), parts[0].Operation, parts[0].Table, 1);
        }

        return new SqlSummary(summary.ToString(), null, null, parts.Count);
    }

    private static string CleanName(string name)
    {
        var end = name.IndexOfAny(['(', ',', ';']);
        var trimmed = end > 0 ? name[..end] : name;
        return trimmed.Replace("\"", string.Empty, StringComparison.Ordinal);
    }

    private static IEnumerable<string> SplitStatements(string sql)
    {
        var start = 0;
        var inQuote = false;
        for (var i = 0; i < sql.Length; i++)
        {
            if (sql[i] == '\'')
            {
                inQuote = !inQuote;
            }
            else if (sql[i] == ';' && !inQuote)
            {
                yield return sql[start..i];
                start = i + 1;
            }
        }

        if (start < sql.Length)
        {
            yield return sql[start..];
        }
    }

    private static List<string> Words(string statement, int max)
    {
        var words = new List<string>();
        var i = 0;
        while (i < statement.Length && words.Count < max)
        {
            while (i < statement.Length && (char.IsWhiteSpace(statement[i]) || statement[i] == '('))
            {
                i++;
            }

            var start = i;
            if (i < statement.Length && statement[i] == '"')
            {
                i = SkipQuoted(statement, i, '"');
                while (i < statement.Length && (IsIdentifierChar(statement[i]) || statement[i] == '.' || statement[i] == '"'))
                {
                    i++;
                }
            }
            else
            {
                while (i < statement.Length && (IsIdentifierChar(statement[i]) || statement[i] == '.'))
                {
                    i++;
                }
            }

            if (i > start)
            {
                words.Add(statement[start..i]);
            }
            else
            {
                i++;
            }
        }

        return words;
    }

    private static int SkipQuoted(string sql, int start, char quote = '\'')
    {
        var i = start + 1;
        while (i < sql.Length)
        {
            if (sql[i] == quote)
            {
                if (i + 1 < sql.Length && sql[i + 1] == quote)
                {
                    i += 2;
                    continue;
                }

                return i + 1;
            }

            if (sql[i] == '\\' && quote == '\'' && i + 1 < sql.Length)
            {
                i += 2;
                continue;
            }

            i++;
        }

        return sql.Length;
    }

    private static bool TryDollarQuote(string sql, int start, out int end)
    {
        var tagEnd = sql.IndexOf('$', start + 1);
        end = start;
        if (tagEnd < 0)
        {
            return false;
        }

        for (var i = start + 1; i < tagEnd; i++)
        {
            if (!IsIdentifierChar(sql[i]))
            {
                return false;
            }
        }

        var tag = sql[start..(tagEnd + 1)];
        var close = sql.IndexOf(tag, tagEnd + 1, StringComparison.Ordinal);
        end = close < 0 ? sql.Length : close + tag.Length;
        return true;
    }

    private static char Previous(string sql, int i) => i > 0 ? sql[i - 1] : ' ';

    private static bool IsIdentifierChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}

/// <summary>What <see cref="SqlText.Summarize"/> finds: the summary, and the operation and table when there is one statement.</summary>
internal readonly record struct SqlSummary(string? Summary, string? Operation, string? Collection, int Statements);
