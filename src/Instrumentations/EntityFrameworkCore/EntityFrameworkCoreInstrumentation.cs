using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Instrumentation.Npgsql;

namespace TraceAgent.Instrumentation.EntityFrameworkCore;

/// <summary>
/// EF Core command spans from its "Microsoft.EntityFrameworkCore" DiagnosticListener, for providers
/// whose ADO.NET driver makes no span of its own. Commands on Npgsql are left to Npgsql's span
/// (while that instrumentation is on): one command, one span. The payloads are EF types, but what
/// the agent needs from them is a DbCommand, which is the BCL's: one compiled getter per payload
/// type, no reference to EF Core.
/// </summary>
internal sealed class EntityFrameworkCoreInstrumentation : IInstrumentation, IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    public const string SourceName = "TraceAgent.EntityFrameworkCore";
    private const string Prefix = "Microsoft.EntityFrameworkCore.Database.Command.";
    private const string Executing = Prefix + "CommandExecuting";
    private const string Executed = Prefix + "CommandExecuted";
    private const string Failed = Prefix + "CommandError";
    private const string Canceled = Prefix + "CommandCanceled";
    private const string ReaderDisposing = Prefix + "DataReaderDisposing";

    private static readonly ActivitySource Source = new(SourceName);
    private static readonly ConcurrentDictionary<(Type, string), Func<object, object?>> Getters = new();

    private readonly ConditionalWeakTable<DbCommand, Activity> _open = new();
    private readonly List<IDisposable> _subscriptions = [];
    private DatabaseSettings _settings = null!;
    private bool _npgsqlTraced;

    public IDisposable? Start(InstrumentationContext context)
    {
        _settings = context.Settings.Database;
        _npgsqlTraced = context.Settings.IsInstrumentationEnabled("NPGSQL");
        _subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(this));
        return new Subscriptions(_subscriptions);
    }

    public void OnNext(DiagnosticListener value)
    {
        if (value.Name == "Microsoft.EntityFrameworkCore")
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(value.Subscribe(this, static name => name is Executing or Executed or Failed or Canceled or ReaderDisposing));
            }
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        try
        {
            if (value.Value is null || Get(value.Value, "Command") is not DbCommand command)
            {
                return;
            }

            switch (value.Key)
            {
                case Executing:
                    OnExecuting(command);
                    break;
                case Executed:
                    // A reader's span ends when the app is done reading it, as the app experiences the command.
                    if (Get(value.Value, "Result") is not DbDataReader)
                    {
                        Stop(command, null);
                    }

                    break;
                case ReaderDisposing:
                case Canceled:
                    Stop(command, null);
                    break;
                case Failed:
                    Stop(command, Get(value.Value, "Exception") as Exception);
                    break;
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("EF Core diagnostic event", ex);
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
        var (summary, operation, collection, statements) = SqlText.Summarize(query);
        activity.DisplayName = summary ?? system;
        if (summary is not null)
        {
            activity.SetTag("db.query.summary", summary);
        }

        activity.SetTag("db.operation.name", operation);
        activity.SetTag("db.collection.name", collection);
        if (statements > 1)
        {
            activity.SetTag("db.operation.batch.size", statements);
        }

        if (_settings.QueryTextEnabled)
        {
            activity.SetTag("db.query.text", _settings.SanitizeQueryText ? SqlText.Sanitize(query) : query);
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
            activity.AddException(exception);
        }

        var current = Activity.Current;
        activity.Stop();
        Activity.Current = current;
    }

    private static string SystemName(string commandType)
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

    private static object? Get(object payload, string property)
    {
        var getter = Getters.GetOrAdd((payload.GetType(), property), static key =>
        {
            var info = key.Item1.GetProperty(key.Item2, BindingFlags.Public | BindingFlags.Instance);
            if (info is null)
            {
                return static _ => null;
            }

            var parameter = Expression.Parameter(typeof(object));
            var body = Expression.Convert(Expression.Property(Expression.Convert(parameter, key.Item1), info), typeof(object));
            return Expression.Lambda<Func<object, object?>>(body, parameter).Compile();
        });
        return getter(payload);
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    private sealed class Subscriptions(List<IDisposable> subscriptions) : IDisposable
    {
        public void Dispose()
        {
            lock (subscriptions)
            {
                foreach (var subscription in subscriptions)
                {
                    subscription.Dispose();
                }

                subscriptions.Clear();
            }
        }
    }
}
