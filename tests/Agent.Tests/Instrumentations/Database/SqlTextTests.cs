using TraceAgent.Instrumentation.Database;

namespace TraceAgent.Tests.Instrumentations.Database;

public sealed class SqlTextTests
{
    [Theory]
    [InlineData("SELECT * FROM users WHERE name = 'bob' AND age > 42", "SELECT * FROM users WHERE name = ? AND age > ?")]
    [InlineData("SELECT 'it''s', E'a\\'b', $$dollar$$, $tag$x$tag$", "SELECT ?, ?, ?, ?")]
    [InlineData("SELECT c1, t2.col3 FROM t2 WHERE id = $1", "SELECT c1, t2.col3 FROM t2 WHERE id = $1")]
    [InlineData("SELECT 1.5e3 -- secret comment\n", "SELECT ? \n")]
    [InlineData("SELECT /* hidden */ \"Name\" FROM \"Orders\"", "SELECT  \"Name\" FROM \"Orders\"")]
    public void Literals_and_comments_are_masked(string sql, string expected) =>
        Assert.Equal(expected, SqlText.Sanitize(sql));

    [Theory]
    [InlineData("SELECT id FROM orders WHERE id = $1", "SELECT orders", "SELECT", "orders", 1)]
    [InlineData("insert into public.items (a) values ($1)", "INSERT public.items", "INSERT", "public.items", 1)]
    [InlineData("UPDATE \"Orders\" SET x = 1", "UPDATE Orders", "UPDATE", "Orders", 1)]
    [InlineData("DELETE FROM t WHERE 1=1", "DELETE t", "DELETE", "t", 1)]
    [InlineData("SELECT 1; INSERT INTO a VALUES (1)", "SELECT; INSERT a", null, null, 2)]
    [InlineData("BEGIN", "BEGIN", "BEGIN", null, 1)]
    public void Statements_are_summarized(string sql, string summary, string? operation, string? collection, int statements)
    {
        var result = SqlText.Summarize(sql);
        Assert.Equal(summary, result.Summary);
        Assert.Equal(operation, result.Operation);
        Assert.Equal(collection, result.Collection);
        Assert.Equal(statements, result.Statements);
    }

    [Fact]
    public void Shapes_are_reused_and_an_app_that_inlines_literals_does_not_grow_the_cache()
    {
        var first = SqlShapes.Of("SELECT name FROM items WHERE id = $1");
        Assert.Same(first, SqlShapes.Of(new string("SELECT name FROM items WHERE id = $1".AsSpan())));

        // Literals inlined: every text is new. The cache stays within its 2048 shapes.
        for (var i = 0; i < 5000; i++)
        {
            var shape = SqlShapes.Of("SELECT name FROM items WHERE id = " + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("SELECT name FROM items WHERE id = ?", shape.Sanitized);
            Assert.InRange(SqlShapes.Count, 1, 2048);
        }
    }
}
