using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation;
using TraceAgent.Instrumentation.Database;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.Npgsql;

/// <summary>
/// Npgsql command spans from Npgsql's own "Npgsql" ActivitySource, brought to the stable database
/// semantic conventions whatever the Npgsql version (8 and 9 emit the older names, 10 the newer):
/// literals masked, connection strings and users never kept, summary-based span names.
/// </summary>
internal sealed class NpgsqlInstrumentation : IInstrumentation
{
    /// <summary>The name in OTEL_DOTNET_AUTO_TRACES_NPGSQL_INSTRUMENTATION_ENABLED; EF Core checks it to leave Npgsql's commands to this one.</summary>
    public const string Id = "NPGSQL";

    public const string SourceName = "Npgsql";

    /// <summary>The assembly whose loading starts the instrumentation (its registry line).</summary>
    public const string TriggerAssembly = "Npgsql";

    // Attributes of older conventions that the stable names replace, or that must never leave the
    // process (the connection string may hold a password).
    private static readonly HashSet<string> Removed = new(StringComparer.Ordinal)
    {
        "db.system", "db.statement", "db.name", "db.user", "db.connection_string", "net.peer.name", "net.peer.port",
        "net.peer.ip", "net.transport", "db.npgsql.data_source", "db.npgsql.connection_id", "db.connection_id",
        "otel.status_code", "otel.status_description",
    };

    public IDisposable? Start(InstrumentationContext context)
    {
        var settings = context.GetSettings<DatabaseSettings>();
        // A span held until its trace is decided (keep errors or slow) gets only its status at its
        // end, which the decision needs; the rest is done if the trace is kept (most are not).
        context.SetHooks(SourceName, new SpanHooks
        {
            OnStop = activity =>
            {
                if (activity.Recorded)
                {
                    OnStop(activity, settings);
                }
                else
                {
                    SetStatus(activity);
                }
            },
            OnKept = activity => OnStop(activity, settings),
        });
        return null;
    }

    // Npgsql 8 reports failure with the legacy otel.status_code tag, not the Activity status.
    private static void SetStatus(Activity activity)
    {
        if (activity.Status != ActivityStatusCode.Error && activity.GetTagItem("otel.status_code") is "ERROR")
        {
            activity.SetStatus(ActivityStatusCode.Error, activity.GetTagItem("otel.status_description") as string);
        }
    }

    internal static void OnStop(Activity activity, DatabaseSettings settings)
    {
        var query = activity.GetTagItem("db.query.text") as string ?? activity.GetTagItem("db.statement") as string;
        var database = activity.GetTagItem("db.namespace") as string ?? activity.GetTagItem("db.name") as string;
        var host = activity.GetTagItem("server.address") as string ?? activity.GetTagItem("net.peer.name") as string ?? activity.GetTagItem("net.peer.ip") as string;
        var port = activity.GetTagItem("server.port") ?? activity.GetTagItem("net.peer.port");
        SetStatus(activity);

        // One pass over the tags to find the ones to drop; they cannot be removed while enumerating.
        string[]? dropped = null;
        var count = 0;
        foreach (var tag in activity.EnumerateTagObjects())
        {
            if (Removed.Contains(tag.Key))
            {
                dropped ??= new string[Removed.Count];
                if (count < dropped.Length)
                {
                    dropped[count++] = tag.Key;
                }
            }
        }

        for (var i = 0; i < count; i++)
        {
            activity.SetTag(dropped![i], null);
        }

        activity.SetTag("db.system.name", "postgresql");
        if (database is not null)
        {
            activity.SetTag("db.namespace", database);
        }

        if (host is not null)
        {
            activity.SetTag("server.address", host);
        }

        if (port is not null)
        {
            activity.SetTag("server.port", port is string text && int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var number) ? number : port);
        }

        string? summary = null;
        if (query is not null)
        {
            var shape = SqlShapes.Of(query);
            summary = shape.Summary;
            if (summary is not null)
            {
                activity.SetTag("db.query.summary", summary);
            }

            if (shape.Operation is not null)
            {
                activity.SetTag("db.operation.name", shape.Operation);
            }

            if (shape.Collection is not null)
            {
                activity.SetTag("db.collection.name", shape.Collection);
            }

            if (shape.Statements > 1)
            {
                activity.SetTag("db.operation.batch.size", shape.Statements);
            }

            activity.SetTag("db.query.text", settings.QueryTextEnabled ? (settings.SanitizeQueryText ? shape.Sanitized : query) : null);
        }

        // Span name: {db.query.summary} (semantic conventions for database spans). A span without
        // a query (Npgsql 10's physical connection open) keeps the name Npgsql gave it.
        if (summary is not null)
        {
            activity.DisplayName = summary;
        }

        if (activity.Status == ActivityStatusCode.Error && activity.GetTagItem("error.type") is null)
        {
            activity.SetTag("error.type", ErrorType(activity));
        }
    }

    private static string ErrorType(Activity activity)
    {
        if (activity.GetTagItem("db.response.status_code") is string sqlState)
        {
            return sqlState;
        }

        string? type = null;
        foreach (ref readonly var e in activity.EnumerateEvents())
        {
            if (e.Name != "exception")
            {
                continue;
            }

            foreach (var tag in e.EnumerateTagObjects())
            {
                if (tag.Key == "exception.type" && tag.Value is string exceptionType)
                {
                    type = exceptionType;
                }
                else if (tag.Key == "exception.message" && tag.Value is string message && SqlStateOf(message) is { } state)
                {
                    // A PostgresException's message starts with its SQLSTATE ("42601: syntax error ..."),
                    // the code the conventions prefer for error.type.
                    activity.SetTag("db.response.status_code", state);
                    return state;
                }
            }
        }

        return type ?? "_OTHER";
    }

    internal static string? SqlStateOf(string message)
    {
        if (message.Length < 7 || message[5] != ':' || message[6] != ' ')
        {
            return null;
        }

        for (var i = 0; i < 5; i++)
        {
            if (!char.IsAsciiDigit(message[i]) && !char.IsAsciiLetterUpper(message[i]))
            {
                return null;
            }
        }

        return message[..5];
    }
}
