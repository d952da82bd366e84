using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation.Npgsql;

namespace TraceAgent.Tests.Instrumentations.Npgsql;

// What the agent makes of Npgsql's own spans, checked against the stable database conventions:
// https://opentelemetry.io/docs/specs/semconv/database/database-spans/ and .../postgresql/
public sealed class NpgsqlSpanTests : IDisposable
{
    private readonly TestSpans _spans = new();

    public void Dispose() => _spans.Dispose();

    [Fact]
    public void Npgsql_8_attributes_become_the_stable_ones()
    {
        // As Npgsql 8 and 9 tag a command span (the older conventions, connection string included).
        using var activity = _spans.Start("orders", ActivityKind.Client);
        activity.SetTag("db.system", "postgresql");
        activity.SetTag("db.statement", "SELECT id, total FROM orders WHERE customer = 'alice' AND total > 100");
        activity.SetTag("db.name", "shop");
        activity.SetTag("db.user", "app");
        activity.SetTag("db.connection_string", "Host=db;Password=hunter2");
        activity.SetTag("net.peer.name", "db.internal");
        activity.SetTag("net.peer.port", "5432");

        NpgsqlInstrumentation.OnStop(activity, new DatabaseSettings(QueryTextEnabled: true, SanitizeQueryText: true));

        Assert.Equal("postgresql", activity.GetTagItem("db.system.name"));
        Assert.Equal("shop", activity.GetTagItem("db.namespace"));
        Assert.Equal("db.internal", activity.GetTagItem("server.address"));
        Assert.Equal(5432, activity.GetTagItem("server.port"));
        Assert.Equal("SELECT", activity.GetTagItem("db.operation.name"));
        Assert.Equal("orders", activity.GetTagItem("db.collection.name"));

        // The span is named by db.query.summary: "{operation} {target}".
        Assert.Equal("SELECT orders", activity.GetTagItem("db.query.summary"));
        Assert.Equal("SELECT orders", activity.DisplayName);

        // Literals are masked; nothing of the older names or the credentials is left.
        Assert.Equal("SELECT id, total FROM orders WHERE customer = ? AND total > ?", activity.GetTagItem("db.query.text"));
        foreach (var removed in new[] { "db.system", "db.statement", "db.name", "db.user", "db.connection_string", "net.peer.name", "net.peer.port" })
        {
            Assert.Null(activity.GetTagItem(removed));
        }
    }

    [Fact]
    public void Npgsql_10_attributes_stay_once_each_and_older_duplicates_go()
    {
        // As Npgsql 10 tags a command span (the stable names), with older names beside them as a
        // library between versions might leave them: the stable value wins, the older one goes.
        using var activity = _spans.Start("SELECT 1", ActivityKind.Client);
        activity.SetTag("db.system.name", "postgresql");
        activity.SetTag("db.query.text", "SELECT name FROM users WHERE id = 7");
        activity.SetTag("db.namespace", "shop");
        activity.SetTag("db.name", "other");
        activity.SetTag("server.address", "db.internal");
        activity.SetTag("net.peer.name", "old.internal");
        activity.SetTag("server.port", "6432");
        activity.SetTag("db.npgsql.connection_id", 12);

        NpgsqlInstrumentation.OnStop(activity, new DatabaseSettings(QueryTextEnabled: true, SanitizeQueryText: true));

        Assert.Equal("shop", activity.GetTagItem("db.namespace"));
        Assert.Equal("db.internal", activity.GetTagItem("server.address"));
        Assert.Equal(6432, activity.GetTagItem("server.port"));
        Assert.Equal("SELECT name FROM users WHERE id = ?", activity.GetTagItem("db.query.text"));
        Assert.Equal("SELECT users", activity.DisplayName);
        var keys = activity.TagObjects.Select(t => t.Key).ToList();
        Assert.Equal(keys.Distinct().Count(), keys.Count);
        Assert.DoesNotContain("db.name", keys);
        Assert.DoesNotContain("net.peer.name", keys);
        Assert.DoesNotContain("db.npgsql.connection_id", keys);
    }

    [Fact]
    public void Every_older_name_and_every_credential_carrier_is_dropped()
    {
        // Every tag Npgsql 8 and 9 may set under an older name, or that may carry the connection
        // string, user or data source, must be gone from the span that leaves the process.
        string[] dropped =
        [
            "db.system", "db.statement", "db.name", "db.user", "db.connection_string", "net.peer.name", "net.peer.port",
            "net.peer.ip", "net.transport", "db.npgsql.data_source", "db.npgsql.connection_id", "db.connection_id",
            "otel.status_code", "otel.status_description",
        ];
        using var activity = _spans.Start("all", ActivityKind.Client);
        foreach (var name in dropped)
        {
            activity.SetTag(name, name switch
            {
                "db.connection_string" or "db.npgsql.data_source" => "Host=db;Username=app;Password=hunter2",
                "db.user" => "hunter2-user",
                "net.peer.port" => "5432",
                "db.statement" => "SELECT 1",
                _ => "value",
            });
        }

        NpgsqlInstrumentation.OnStop(activity, new DatabaseSettings(QueryTextEnabled: true, SanitizeQueryText: true));

        var left = activity.TagObjects.Select(t => t.Key).ToList();
        Assert.Empty(left.Intersect(dropped));
        Assert.DoesNotContain(activity.TagObjects, t => t.Value is string text && text.Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact]
    public void Query_text_can_be_left_out_and_batches_are_counted()
    {
        using var activity = _spans.Start("batch", ActivityKind.Client);
        activity.SetTag("db.query.text", "INSERT INTO a VALUES ($1); INSERT INTO b VALUES ($1)");

        NpgsqlInstrumentation.OnStop(activity, new DatabaseSettings(QueryTextEnabled: false, SanitizeQueryText: true));

        Assert.Null(activity.GetTagItem("db.query.text"));
        Assert.Equal(2, activity.GetTagItem("db.operation.batch.size"));
    }

    [Fact]
    public void Failed_command_gets_the_sqlstate_as_error_type()
    {
        using var activity = _spans.Start("bad", ActivityKind.Client);
        activity.SetTag("db.query.text", "SELEC 1");
        activity.SetStatus(ActivityStatusCode.Error);
        activity.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
        {
            ["exception.type"] = "Npgsql.PostgresException",
            ["exception.message"] = "42601: syntax error at or near \"SELEC\"",
        }));

        NpgsqlInstrumentation.OnStop(activity, new DatabaseSettings(QueryTextEnabled: true, SanitizeQueryText: true));

        // PostgreSQL reports SQLSTATE 42601 for a syntax error; the conventions ask for it as both.
        Assert.Equal("42601", activity.GetTagItem("db.response.status_code"));
        Assert.Equal("42601", activity.GetTagItem("error.type"));
    }

    [Fact]
    public void Npgsql_8_error_tag_becomes_the_span_status()
    {
        using var activity = _spans.Start("bad", ActivityKind.Client);
        activity.SetTag("otel.status_code", "ERROR");
        activity.SetTag("otel.status_description", "connection refused");

        NpgsqlInstrumentation.OnStop(activity, new DatabaseSettings(QueryTextEnabled: true, SanitizeQueryText: true));

        Assert.Equal(ActivityStatusCode.Error, activity.Status);
        Assert.Equal("connection refused", activity.StatusDescription);
        Assert.Null(activity.GetTagItem("otel.status_code"));
    }
}
