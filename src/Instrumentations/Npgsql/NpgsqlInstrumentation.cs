using System.Diagnostics;
using System.Runtime.CompilerServices;
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
    // process (the connection string may hold a password). A tag's index here is its bit in the
    // mask OnStop gathers in its one pass over the tags.
    private static readonly string[] Removed =
    [
        "db.system", "db.statement", "db.name", "db.user", "db.connection_string", "net.peer.name", "net.peer.port",
        "net.peer.ip", "net.transport", "db.npgsql.data_source", "db.npgsql.connection_id", "db.connection_id",
        "otel.status_code", "otel.status_description",
    ];

    // The span whose added attributes are still to be written into its encoding, on this thread
    // (see Hooks).
#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static Added t_ending;
#pragma warning restore IDE1006

    public IDisposable? Start(InstrumentationContext context)
    {
        context.SetHooks(SourceName, Hooks(context.GetSettings<DatabaseSettings>(), context.EncodesSpansAsTheyEnd));
        return null;
    }

    /// <summary>What is done to the source's spans; <paramref name="written"/> when each span is encoded as it ends.</summary>
    internal static SpanHooks Hooks(DatabaseSettings settings, bool written)
    {
        // A span held until its trace is decided (keep errors or slow) gets only its status at its
        // end, which the decision needs; the rest is done if the trace is kept (most are not).
        // When each span is encoded as it ends (OTLP alone), the attributes the span did not have
        // (the stable system name, the query's summary, operation and collection, and the stable
        // names of older ones) are written into its encoding instead of being set on the Activity:
        // the stop hook reads the tags and names the span, then the tracer encodes it on the same
        // thread and calls WriteAttributes.
        return new SpanHooks
        {
            OnStop = activity =>
            {
                if (!activity.Recorded)
                {
                    SetStatus(activity);
                }
                else if (written)
                {
                    Finish(activity, settings, out t_ending);
                    t_ending.Activity = activity;
                }
                else
                {
                    OnStop(activity, settings);
                }
            },
            WriteAttributes = written ? static (Activity activity, ref SpanAttributes attributes) => WriteAdded(activity, ref attributes) : null,
            OnKept = activity => OnStop(activity, settings),
        };
    }

    private static void WriteAdded(Activity activity, ref SpanAttributes attributes)
    {
        ref var added = ref t_ending;
        if (!ReferenceEquals(added.Activity, activity))
        {
            return;
        }

        added.Write(ref attributes);
        added = default;
    }

    // Npgsql 8 reports failure with the legacy otel.status_code tag, not the Activity status.
    private static void SetStatus(Activity activity)
    {
        if (activity.Status != ActivityStatusCode.Error && activity.GetTagItem("otel.status_code") is "ERROR")
        {
            activity.SetStatus(ActivityStatusCode.Error, activity.GetTagItem("otel.status_description") as string);
        }
    }

    /// <summary>Everything done to a sampled span as it ends, on its Activity.</summary>
    internal static void OnStop(Activity activity, DatabaseSettings settings)
    {
        Finish(activity, settings, out var added);
        var attributes = SpanAttributes.OnActivity(activity);
        added.Write(ref attributes);
    }

    /// <summary>
    /// Reads the span's tags in one pass, drops the older names, replaces the values it changes
    /// (the masked query text, a port given as text), sets the status and the name, and leaves the
    /// attributes the span did not have in <paramref name="added"/>.
    /// </summary>
    internal static void Finish(Activity activity, DatabaseSettings settings, out Added added)
    {
        added = default;
        // One pass over the tags reads every value needed and notes the tags to drop (they cannot
        // be removed while enumerating): a lookup per name would walk the list a dozen times.
        string? queryText = null, statement = null, database = null, oldDatabase = null;
        string? address = null, peerName = null, peerIp = null, statusCode = null, statusDescription = null;
        object? port = null, oldPort = null;
        var hasErrorType = false;
        var dropped = 0;
        foreach (var tag in activity.EnumerateTagObjects())
        {
            var index = -1;
            switch (tag.Key)
            {
                case "db.query.text": queryText ??= tag.Value as string; break;
                case "db.namespace": database ??= tag.Value as string; break;
                case "server.address": address ??= tag.Value as string; break;
                case "server.port": port ??= tag.Value; break;
                case "error.type": hasErrorType |= tag.Value is not null; break;
                case "db.system": index = 0; break;
                case "db.statement": statement ??= tag.Value as string; index = 1; break;
                case "db.name": oldDatabase ??= tag.Value as string; index = 2; break;
                case "db.user": index = 3; break;
                case "db.connection_string": index = 4; break;
                case "net.peer.name": peerName ??= tag.Value as string; index = 5; break;
                case "net.peer.port": oldPort ??= tag.Value; index = 6; break;
                case "net.peer.ip": peerIp ??= tag.Value as string; index = 7; break;
                case "net.transport": index = 8; break;
                case "db.npgsql.data_source": index = 9; break;
                case "db.npgsql.connection_id": index = 10; break;
                case "db.connection_id": index = 11; break;
                case "otel.status_code": statusCode ??= tag.Value as string; index = 12; break;
                case "otel.status_description": statusDescription ??= tag.Value as string; index = 13; break;
            }

            if (index >= 0)
            {
                dropped |= 1 << index;
            }
        }

        if (activity.Status != ActivityStatusCode.Error && statusCode == "ERROR")
        {
            activity.SetStatus(ActivityStatusCode.Error, statusDescription);
        }

        if (dropped != 0)
        {
            DropTags(activity, dropped);
        }

        // The stable names are added only where the value came from an older one: a tag already
        // under its stable name stays as it is.
        added.Namespace = database is null ? oldDatabase : null;
        added.Address = address is null ? peerName ?? peerIp : null;
        if ((port ?? oldPort) is { } portValue && (port is null || port is string))
        {
            var number = portValue is string text && int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : portValue;
            if (port is null)
            {
                added.Port = number;
            }
            else
            {
                activity.SetTag("server.port", number);
            }
        }

        string? summary = null;
        if ((queryText ?? statement) is { } query)
        {
            var shape = SqlShapes.Of(query);
            summary = shape.Summary;
            added.Shape = shape;
            var text = settings.QueryTextEnabled ? (settings.SanitizeQueryText ? shape.Sanitized : query) : null;
            if (!ReferenceEquals(text, queryText))
            {
                activity.SetTag("db.query.text", text);
            }
        }

        // Span name: {db.query.summary} (semantic conventions for database spans). A span without
        // a query (Npgsql 10's physical connection open) keeps the name Npgsql gave it.
        if (summary is not null)
        {
            activity.DisplayName = summary;
        }

        if (activity.Status == ActivityStatusCode.Error && !hasErrorType)
        {
            activity.SetTag("error.type", ErrorType(activity));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DropTags(Activity activity, int dropped)
    {
        for (var i = 0; i < Removed.Length; i++)
        {
            if ((dropped & (1 << i)) != 0)
            {
                activity.SetTag(Removed[i], null);
            }
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

    /// <summary>
    /// The attributes a span is given that it did not have, from <see cref="Finish"/>: set on the
    /// Activity, or written into the span's encoding as it ends (held per thread until then).
    /// </summary>
    internal struct Added
    {
        /// <summary>The span these are for, while they wait for its encoding.</summary>
        public Activity? Activity { get; set; }

        public string? Namespace { get; set; }

        public string? Address { get; set; }

        public object? Port { get; set; }

        public SqlShape? Shape { get; set; }

        public readonly void Write(ref SpanAttributes attributes)
        {
            attributes.Add("db.system.name", "postgresql");
            attributes.Add("db.namespace", Namespace);
            attributes.Add("server.address", Address);
            attributes.Add("server.port", Port);
            if (Shape is { } shape)
            {
                attributes.Add("db.query.summary", shape.Summary);
                attributes.Add("db.operation.name", shape.Operation);
                attributes.Add("db.collection.name", shape.Collection);
                if (shape.Statements > 1)
                {
                    attributes.Add("db.operation.batch.size", shape.Statements);
                }
            }
        }
    }
}
