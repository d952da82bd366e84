using System.Globalization;
using Microsoft.Data.Sqlite;

namespace TraceAgent.Viewer.Storage;

/// <summary>
/// The traces kept across restarts: one SQLite file, one row per trace (its spans and log
/// records as <see cref="TraceCodec"/> encodes them) and a counter of the traces dropped by
/// the bounds. The file is opened in exclusive locking mode, so a second viewer on the same
/// file fails at start with a clear message instead of both writing to it.
/// </summary>
internal sealed class SqliteTraceArchive : IDisposable
{
    private const string DroppedKey = "dropped";
    private readonly SqliteConnection _connection;

    private SqliteTraceArchive(SqliteConnection connection, string path)
    {
        _connection = connection;
        Path = path;
    }

    public string Path { get; }

    /// <exception cref="IOException">The file cannot be opened, is not a database, or another viewer holds it.</exception>
    public static SqliteTraceArchive Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        string? directory = System.IO.Path.GetDirectoryName(full);
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA locking_mode=EXCLUSIVE;");
            Execute(connection, "PRAGMA journal_mode=WAL;");
            Execute(connection, "PRAGMA synchronous=NORMAL;");
            Execute(connection, """
                CREATE TABLE IF NOT EXISTS traces (
                    trace_id TEXT PRIMARY KEY,
                    stored_unix_nano INTEGER NOT NULL,
                    complete INTEGER NOT NULL,
                    data BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS traces_by_stored ON traces (stored_unix_nano);
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                """);
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            string why = ex.SqliteErrorCode is 5 or 6
                ? "another process (a second viewer?) is using it; pass another --db FILE or --memory"
                : ex.Message;
            throw new IOException($"cannot use {full} as the trace store: {why}", ex);
        }

        return new SqliteTraceArchive(connection, full);
    }

    public long LoadDroppedCount()
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE key = $key";
        command.Parameters.AddWithValue("$key", DroppedKey);
        return command.ExecuteScalar() is string text && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value : 0;
    }

    /// <summary>Every stored trace, oldest first, still encoded (<see cref="TraceCodec.Decode"/>): decoding is the slow part, done in parallel by the caller.</summary>
    public List<ArchivedRow> LoadAll()
    {
        var rows = new List<ArchivedRow>();
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = "SELECT trace_id, stored_unix_nano, complete, data FROM traces ORDER BY stored_unix_nano";
        using SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(new ArchivedRow(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2) != 0, (byte[])reader.GetValue(3)));
        }

        return rows;
    }

    /// <summary>Writes the changes of one round in one transaction: a few fsyncs per second at most.</summary>
    public void Apply(IReadOnlyList<StoredTrace> upserts, IReadOnlyList<string> deletes, long droppedCount)
    {
        using SqliteTransaction transaction = _connection.BeginTransaction();
        using (SqliteCommand upsert = _connection.CreateCommand())
        {
            upsert.Transaction = transaction;
            upsert.CommandText = """
                INSERT INTO traces (trace_id, stored_unix_nano, complete, data) VALUES ($id, $stored, $complete, $data)
                ON CONFLICT (trace_id) DO UPDATE SET stored_unix_nano = excluded.stored_unix_nano, complete = excluded.complete, data = excluded.data
                """;
            SqliteParameter id = upsert.Parameters.Add("$id", SqliteType.Text);
            SqliteParameter stored = upsert.Parameters.Add("$stored", SqliteType.Integer);
            SqliteParameter complete = upsert.Parameters.Add("$complete", SqliteType.Integer);
            SqliteParameter data = upsert.Parameters.Add("$data", SqliteType.Blob);
            foreach (StoredTrace trace in upserts)
            {
                id.Value = trace.TraceId;
                stored.Value = trace.StoredAtUnixNano;
                complete.Value = trace.Reported.Complete ? 1 : 0;
                data.Value = TraceCodec.Encode(trace.Spans, trace.Logs, trace.Findings);
                upsert.ExecuteNonQuery();
            }
        }

        using (SqliteCommand delete = _connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM traces WHERE trace_id = $id";
            SqliteParameter id = delete.Parameters.Add("$id", SqliteType.Text);
            foreach (string traceId in deletes)
            {
                id.Value = traceId;
                delete.ExecuteNonQuery();
            }
        }

        using (SqliteCommand meta = _connection.CreateCommand())
        {
            meta.Transaction = transaction;
            meta.CommandText = "INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
            meta.Parameters.AddWithValue("$key", DroppedKey);
            meta.Parameters.AddWithValue("$value", droppedCount.ToString(CultureInfo.InvariantCulture));
            meta.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    public void Dispose() => _connection.Dispose();

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

internal sealed record ArchivedRow(string TraceId, long StoredAtUnixNano, bool Complete, byte[] Data);
