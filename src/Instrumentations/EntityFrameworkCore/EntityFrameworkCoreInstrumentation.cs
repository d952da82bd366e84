using System.Data.Common;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation.Database;
using TraceAgent.Instrumentation.Npgsql;
using TraceAgent.Loading;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.EntityFrameworkCore;

/// <summary>
/// EF Core command spans from its "Microsoft.EntityFrameworkCore" DiagnosticListener, for providers
/// whose ADO.NET driver makes no span of its own. Commands on Npgsql are left to Npgsql's span
/// (while that instrumentation is on): one command, one span. The payloads are EF types, but what
/// the agent needs from them is a DbCommand, which is the BCL's: one compiled getter per payload
/// type, no reference to EF Core.
/// </summary>
internal sealed class EntityFrameworkCoreInstrumentation : IInstrumentation
{
    public const string SourceName = "TraceAgent.EntityFrameworkCore";

    /// <summary>The assembly whose loading starts the instrumentation (its registry line).</summary>
    public const string TriggerAssembly = "Microsoft.EntityFrameworkCore";
    private const string Prefix = "Microsoft.EntityFrameworkCore.Database.Command.";
    private const string Executing = Prefix + "CommandExecuting";
    private const string Executed = Prefix + "CommandExecuted";
    private const string Failed = Prefix + "CommandError";
    private const string Canceled = Prefix + "CommandCanceled";
    private const string ReaderDisposing = Prefix + "DataReaderDisposing";

    private static readonly ActivitySource Source = new(SourceName);
    private static readonly PropertyFetcher CommandOf = new("Command");
    private static readonly PropertyFetcher ResultOf = new("Result");
    private static readonly PropertyFetcher ExceptionOf = new("Exception");

    // EF Core assemblies that are no relational provider, or one whose driver traces itself.
    private static readonly HashSet<string> NotProviders = new(StringComparer.Ordinal)
    {
        "Microsoft.EntityFrameworkCore", "Microsoft.EntityFrameworkCore.Relational", "Microsoft.EntityFrameworkCore.Abstractions",
        "Microsoft.EntityFrameworkCore.Design", "Microsoft.EntityFrameworkCore.Proxies", "Microsoft.EntityFrameworkCore.InMemory",
        "Microsoft.EntityFrameworkCore.Analyzers", "Microsoft.EntityFrameworkCore.Tools", "Microsoft.EntityFrameworkCore.Cosmos",
    };

    private readonly ConditionalWeakTable<DbCommand, Activity> _open = new();

    // The one instance given to AssemblyLoads, so that the same one can be taken back.
    private readonly Action<System.Reflection.Assembly> _watcher;
    private DatabaseSettings _settings = null!;
    private bool _npgsqlTraced;

    // EF Core builds an event payload for every command whenever anyone listens. While the app has
    // loaded no provider whose driver needs these spans (an app on Npgsql alone, traced by Npgsql's
    // own spans), the agent does not listen, and EF builds nothing.
    private volatile bool _needed;

    public EntityFrameworkCoreInstrumentation()
    {
        _watcher = Consider;
    }

    public IDisposable? Start(InstrumentationContext context)
    {
        var settings = context.GetSettings<EntityFrameworkCoreSettings>();
        _settings = settings.Database;
        _npgsqlTraced = settings.NpgsqlTraced;
        AssemblyLoads.Watch(_watcher);
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            Consider(assembly);
        }

        var subscription = DiagnosticListeners.Subscribe(
            "Microsoft.EntityFrameworkCore",
            name => _needed && name is Executing or Executed or Failed or Canceled or ReaderDisposing,
            OnEvent,
            "EF Core diagnostic event");
        return new Subscription(this, subscription);
    }

    private void Consider(System.Reflection.Assembly assembly)
    {
        if (_needed)
        {
            return;
        }

        // FullName is cached by the runtime; GetName() would parse and allocate on every load.
        var fullName = assembly.FullName;
        if (fullName is null || !fullName.Contains("EntityFrameworkCore", StringComparison.Ordinal))
        {
            return;
        }

        var comma = fullName.IndexOf(',', StringComparison.Ordinal);
        var name = comma < 0 ? fullName : fullName[..comma];
        if (NotProviders.Contains(name) || (_npgsqlTraced && name.StartsWith("Npgsql.EntityFrameworkCore.PostgreSQL", StringComparison.Ordinal)))
        {
            return;
        }

        _needed = true;
        AssemblyLoads.Unwatch(_watcher);
    }

    private sealed class Subscription(EntityFrameworkCoreInstrumentation owner, IDisposable inner) : IDisposable
    {
        public void Dispose()
        {
            AssemblyLoads.Unwatch(owner._watcher);
            inner.Dispose();
        }
    }

    private void OnEvent(string name, object? payload)
    {
        if (CommandOf.Fetch(payload) is not DbCommand command)
        {
            return;
        }

        switch (name)
        {
            case Executing:
                OnExecuting(command);
                break;
            case Executed:
                // A reader's span ends when the app is done reading it, as the app experiences the command.
                if (ResultOf.Fetch(payload) is not DbDataReader)
                {
                    Stop(command, null);
                }

                break;
            case ReaderDisposing:
            case Canceled:
                Stop(command, null);
                break;
            case Failed:
                Stop(command, ExceptionOf.Fetch(payload) as Exception);
                break;
        }
    }

    private void OnExecuting(DbCommand command)
    {
        var type = command.GetType().FullName ?? string.Empty;
        if (_npgsqlTraced && type.StartsWith("Npgsql.", StringComparison.Ordinal))
        {
            return;
        }

        var activity = Source.StartActivity("db", ActivityKind.Client);
        if (activity is null)
        {
            return;
        }

        var system = SystemName(type);
        activity.SetTag("db.system.name", system);
        var connection = command.Connection;
        if (connection is not null)
        {
            if (!string.IsNullOrEmpty(connection.Database))
            {
                activity.SetTag("db.namespace", connection.Database);
            }

            if (system != "sqlite" && !string.IsNullOrEmpty(connection.DataSource))
            {
                activity.SetTag("server.address", connection.DataSource);
            }
        }

        var query = command.CommandText;
        var shape = SqlShapes.Of(query);
        activity.DisplayName = shape.Summary ?? system;
        if (shape.Summary is not null)
        {
            activity.SetTag("db.query.summary", shape.Summary);
        }

        activity.SetTag("db.operation.name", shape.Operation);
        activity.SetTag("db.collection.name", shape.Collection);
        if (shape.Statements > 1)
        {
            activity.SetTag("db.operation.batch.size", shape.Statements);
        }

        if (_settings.QueryTextEnabled)
        {
            activity.SetTag("db.query.text", _settings.SanitizeQueryText ? shape.Sanitized : query);
        }

        _open.AddOrUpdate(command, activity);

        // The span is not the ambient one: the app's code between EF's events is not inside it.
        Activity.Current = activity.Parent;
    }

    private void Stop(DbCommand command, Exception? exception)
    {
        if (!_open.TryGetValue(command, out var activity))
        {
            return;
        }

        _open.Remove(command);
        if (exception is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, exception.Message);
            activity.SetTag("error.type", exception.GetType().FullName);
            ExceptionEvents.Record(activity, exception);
        }

        var current = Activity.Current;
        activity.Stop();
        Activity.Current = current;
    }

    internal static string SystemName(string commandType)
    {
        if (commandType.StartsWith("Microsoft.Data.Sqlite.", StringComparison.Ordinal))
        {
            return "sqlite";
        }

        if (commandType.Contains("SqlClient.", StringComparison.Ordinal))
        {
            return "microsoft.sql_server";
        }

        if (commandType.StartsWith("Npgsql.", StringComparison.Ordinal))
        {
            return "postgresql";
        }

        if (commandType.StartsWith("MySql", StringComparison.Ordinal))
        {
            return "mysql";
        }

        return commandType.StartsWith("Oracle.", StringComparison.Ordinal) ? "oracle.db" : "other_sql";
    }
}
