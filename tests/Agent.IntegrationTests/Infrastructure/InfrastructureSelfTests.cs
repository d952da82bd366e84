namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>The fixtures the integration tests stand on, checked against the real binaries.</summary>
public sealed class InfrastructureSelfTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task PostgresServerRunsSqlInACreatedDatabase()
    {
        await using PostgresServer server = await PostgresServer.StartAsync();

        await server.CreateDatabaseAsync("orders");
        await server.ExecuteSqlAsync("orders", "CREATE TABLE item (id int PRIMARY KEY, name text); INSERT INTO item VALUES (1, 'widget');");
        string name = await server.ExecuteSqlAsync("orders", "SELECT name FROM item WHERE id = 1");

        Assert.Equal("widget", name);
        Assert.Contains($"Port={server.Port};", server.ConnectionString("orders"), StringComparison.Ordinal);
        Assert.EndsWith("Database=orders", server.ConnectionString("orders"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostgresServerRemovesItsFolderWhenDisposed()
    {
        PostgresServer server = await PostgresServer.StartAsync();
        string dataDirectory = server.DataDirectory;
        Assert.True(File.Exists(Path.Combine(dataDirectory, "postmaster.pid")));

        await server.DisposeAsync();

        Assert.False(Directory.Exists(dataDirectory));
    }

    [Fact]
    public async Task RedisServerAnswersCommandsAndShutsDown()
    {
        RedisServer server = await RedisServer.StartAsync();
        int port = server.Port;

        Assert.Equal("OK", await server.SendCommandAsync("SET", "greeting", "hello world"));
        Assert.Equal("hello world", await server.SendCommandAsync("GET", "greeting"));
        Assert.Null(await server.SendCommandAsync("GET", "missing"));

        await server.DisposeAsync();

        using var client = new System.Net.Sockets.TcpClient();
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => client.ConnectAsync("127.0.0.1", port));
    }

    [Fact]
    public async Task TestProcessCapturesBothStreamsAndExitCode()
    {
        using TestProcess process = TestProcess.Start(
            "/bin/sh",
            ["-c", "echo \"out $GREETING\"; echo 'err line' >&2; echo \"hook=[$DOTNET_STARTUP_HOOKS]\"; exit 3"],
            new Dictionary<string, string?> { ["GREETING"] = "hi" });

        string line = await process.WaitForOutputAsync("out hi", Timeout);
        int exitCode = await process.WaitForExitAsync(Timeout);

        Assert.Equal("out hi", line);
        Assert.Equal(3, exitCode);
        Assert.Contains("err line", process.StandardError);
        Assert.Contains("hook=[]", process.StandardOutput);
    }

    [Fact]
    public async Task WaitForOutputFailsAsSoonAsTheProcessEnds()
    {
        using TestProcess process = TestProcess.Start("/bin/sh", ["-c", "echo bye"]);

        // The timeout is long on purpose: the failure must come from the end of the streams, not the clock.
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        TimeoutException error = await Assert.ThrowsAsync<TimeoutException>(() => process.WaitForOutputAsync("never printed", TimeSpan.FromMinutes(5)));

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30));
        Assert.Contains("bye", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitForExitKillsTheProcessTreeOnTimeout()
    {
        // The backgrounded sleep inherits the output pipes, so they reach end of file only once it is dead too.
        using TestProcess process = TestProcess.Start("/bin/sh", ["-c", "sleep 300 & echo started; wait"]);
        await process.WaitForOutputAsync("started", Timeout);

        await Assert.ThrowsAsync<TimeoutException>(() => process.WaitForExitAsync(TimeSpan.FromMilliseconds(300)));
        TimeoutException ended = await Assert.ThrowsAsync<TimeoutException>(() => process.WaitForOutputAsync("never printed", Timeout));

        Assert.True(process.HasExited);
        Assert.Contains("ended", ended.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RepoPathsFindTheSolutionFolder()
    {
        Assert.True(File.Exists(Path.Combine(RepoPaths.RepoRoot, "Agent.sln")));
        Assert.Equal(Path.Combine(RepoPaths.RepoRoot, "dist", "agent", "TraceAgent.StartupHook.dll"), RepoPaths.StartupHookPath);
        Assert.Equal(
            Path.Combine(RepoPaths.RepoRoot, "artifacts", "testapps", "TestApplication.Http", "TestApplication.Http.dll"),
            RepoPaths.TestAppDll("TestApplication.Http"));
    }
}
