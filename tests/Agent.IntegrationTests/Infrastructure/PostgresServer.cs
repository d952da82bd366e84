using System.Globalization;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster in a temp folder, trust authentication, superuser "postgres",
/// listening on 127.0.0.1 only. Driven through the server's own binaries, so this project needs no
/// database client library.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const int StartAttempts = 3;

    private readonly string _binDirectory;
    private readonly string _rootDirectory;
    private readonly bool _asPostgresUser;
    private int _disposed;

    private PostgresServer(string binDirectory, string rootDirectory, bool asPostgresUser)
    {
        _binDirectory = binDirectory;
        _rootDirectory = rootDirectory;
        _asPostgresUser = asPostgresUser;
    }

    public int Port { get; private set; }

    public string DataDirectory => Path.Combine(_rootDirectory, "data");

    public string LogFile => Path.Combine(_rootDirectory, "server.log");

    public static async Task<PostgresServer> StartAsync()
    {
        string binDirectory = FindBinDirectory();

        // initdb and postgres refuse to run as root; the Debian package's "postgres" account does.
        bool asPostgresUser = Environment.UserName == "root";
        DirectoryInfo root = Directory.CreateTempSubdirectory("pg-");
        var server = new PostgresServer(binDirectory, root.FullName, asPostgresUser);
        try
        {
            if (asPostgresUser)
            {
                await Command.RunAsync("chown", ["-R", "postgres:postgres", root.FullName]).ConfigureAwait(false);
            }

            await server.RunServerToolAsync(
                "initdb",
                ["-D", server.DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]).ConfigureAwait(false);
            await server.StartServerAsync().ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>An Npgsql-style connection string for <paramref name="database"/>.</summary>
    public string ConnectionString(string database = "postgres") =>
        string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database}");

    public Task CreateDatabaseAsync(string name) =>
        Command.RunAsync(Path.Combine(_binDirectory, "createdb"), ["-h", "127.0.0.1", "-p", PortText, "-U", "postgres", name]);

    /// <summary>Runs SQL with psql and returns its unaligned, tuples-only output.</summary>
    public Task<string> ExecuteSqlAsync(string database, string sql) =>
        Command.RunAsync(
            Path.Combine(_binDirectory, "psql"),
            ["-h", "127.0.0.1", "-p", PortText, "-U", "postgres", "-d", database, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql]);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                await RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]).ConfigureAwait(false);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(_rootDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is not worth failing a test over.
            }
        }
    }

    private string PortText => Port.ToString(CultureInfo.InvariantCulture);

    private async Task StartServerAsync()
    {
        // The free port can be taken between probing and binding; a fresh one usually works.
        for (int attempt = 1; ; attempt++)
        {
            Port = TcpPort.FreePort();
            string options = string.Create(
                CultureInfo.InvariantCulture,
                $"-p {Port} -k {_rootDirectory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
            try
            {
                // -l sends the server's own output to a file; otherwise the daemon would hold our pipes open.
                await RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-l", LogFile, "-o", options, "-w", "-t", "30", "start"]).ConfigureAwait(false);
                return;
            }
            catch (InvalidOperationException) when (attempt < StartAttempts)
            {
                // Try again on another port.
            }
            catch (InvalidOperationException ex)
            {
                string log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile).ConfigureAwait(false) : "(no server log)";
                throw new InvalidOperationException(ex.Message + "\n--- server log ---\n" + log, ex);
            }
        }
    }

    private Task<string> RunServerToolAsync(string tool, IReadOnlyList<string> arguments)
    {
        string path = Path.Combine(_binDirectory, tool);
        return _asPostgresUser
            ? Command.RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments])
            : Command.RunAsync(path, arguments);
    }

    private static string FindBinDirectory()
    {
        // Debian links some tools into PATH; the real folder also holds createdb and a psql that
        // is not the version-picking wrapper.
        string? initdb = Command.FindOnPath("initdb");
        if (initdb is not null)
        {
            FileSystemInfo? target = new FileInfo(initdb).ResolveLinkTarget(returnFinalTarget: true);
            return Path.GetDirectoryName(target?.FullName ?? initdb)!;
        }

        const string DebianRoot = "/usr/lib/postgresql";
        string? newest = Directory.Exists(DebianRoot)
            ? Directory.GetDirectories(DebianRoot)
                .Where(version => File.Exists(Path.Combine(version, "bin", "initdb")))
                .OrderByDescending(version => int.TryParse(Path.GetFileName(version), NumberStyles.Integer, CultureInfo.InvariantCulture, out int major) ? major : 0)
                .FirstOrDefault()
            : null;

        return newest is not null
            ? Path.Combine(newest, "bin")
            : throw new FileNotFoundException("PostgreSQL's initdb is neither on PATH nor under /usr/lib/postgresql/*/bin.");
    }
}
