using System.Globalization;

namespace TraceAgent.Bench;

/// <summary>Where the servers the apps use are (started by build/bench.sh, or by the runner for Kafka).</summary>
internal sealed record Backends(string? Redis, string? Postgres, string? Kafka)
{
    public Dictionary<string, string> Environment()
    {
        var env = new Dictionary<string, string>();
        if (Redis is not null)
        {
            env["BENCH_REDIS"] = Redis;
        }

        if (Postgres is not null)
        {
            env["BENCH_POSTGRES"] = Postgres;
        }

        if (Kafka is not null)
        {
            env["BENCH_KAFKA"] = Kafka;
        }

        return env;
    }
}

/// <summary>
/// The two services of the load part, started fresh for one run, both under the configuration
/// being measured: the api (/work) and the peer it calls (/hello).
/// </summary>
internal sealed class ServicePair : IDisposable
{
    private static int s_runs;

    private ServicePair(AppProcess api, AppProcess peer, string apiRoute, string peerRoute)
    {
        Api = api;
        Peer = peer;
        ApiRoute = apiRoute;
        PeerRoute = peerRoute;
    }

    public AppProcess Api { get; }

    public AppProcess Peer { get; }

    /// <summary>The sink routes the two export to (unique per run, so late exports count where they belong).</summary>
    public string ApiRoute { get; }

    public string PeerRoute { get; }

    public string WorkUrl => Api.BaseUrl + "/work";

    public static ServicePair Start(BenchOptions options, Configuration configuration, OtlpSink sink, Backends backends, HttpClient client, IReadOnlyDictionary<string, string>? extra = null)
    {
        int run = Interlocked.Increment(ref s_runs);
        string apiRoute = string.Create(CultureInfo.InvariantCulture, $"run{run}-api");
        string peerRoute = string.Create(CultureInfo.InvariantCulture, $"run{run}-peer");
        string app = configuration.App(options, "BenchApi");

        var peerEnv = configuration.Environment(options, sink.BaseUrl, peerRoute, "bench-peer");
        peerEnv["BENCH_ROLE"] = "peer";
        Add(peerEnv, extra, "peer");
        var peer = AppProcess.Start(app, peerEnv);

        // Both start at once (the api calls the peer only from its first /work).
        ServicePair? pair = null;
        try
        {
            var apiEnv = configuration.Environment(options, sink.BaseUrl, apiRoute, "bench-api");
            foreach (var (key, value) in backends.Environment())
            {
                apiEnv[key] = value;
            }

            apiEnv["BENCH_PEER_URL"] = peer.BaseUrl;
            Add(apiEnv, extra, "api");
            var api = AppProcess.Start(app, apiEnv);
            pair = new ServicePair(api, peer, apiRoute, peerRoute);
            foreach (var (process, role) in new[] { (peer, "peer"), (api, "api") })
            {
                if (process.WaitUntilServing(client, TimeSpan.FromSeconds(60)) is not { } ready)
                {
                    throw new InvalidOperationException($"{configuration.Label}: the {role} did not start:\n{process.Describe()}");
                }

                ready.Dispose();
            }

            // One request through everything (peer, Redis, PostgreSQL) before the load: it must work.
            using var check = client.GetAsync(pair.WorkUrl).GetAwaiter().GetResult();
            var body = check.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            if (!check.IsSuccessStatusCode || !body.StartsWith("hello|", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{configuration.Label}: /work answered {(int)check.StatusCode} {body}\n{api.Describe()}");
            }

            return pair;
        }
        catch
        {
            if (pair is null)
            {
                peer.Dispose();
            }
            else
            {
                pair.Dispose();
            }

            throw;
        }
    }

    // "{role}" in a value becomes the process's role (a file of its own for each: the profiler's JIT log).
    private static void Add(Dictionary<string, string> env, IReadOnlyDictionary<string, string>? extra, string role)
    {
        foreach (var (key, template) in extra ?? new Dictionary<string, string>())
        {
            var value = template.Replace("{role}", role, StringComparison.Ordinal);

            // A second startup hook (the profiler's allocation tally) runs after the tracer's.
            env[key] = key == "DOTNET_STARTUP_HOOKS" && env.TryGetValue(key, out var first) ? first + Path.PathSeparator + value : value;
        }
    }

    /// <summary>Graceful stop of both at once (the tracers flush what they hold).</summary>
    public void Stop()
    {
        Api.Signal();
        Peer.Signal();
        Api.Stop(TimeSpan.FromSeconds(10));
        Peer.Stop(TimeSpan.FromSeconds(10));
    }

    /// <summary>Lines of the tracers' own logs at warning level or above (the agent's "[traceagent] ... warn").</summary>
    public IReadOnlyList<string> Warnings() =>
        Api.ErrorLines.Concat(Peer.ErrorLines)
            .Where(l => l.Contains(" warn ", StringComparison.Ordinal) || l.Contains(" error ", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal))
            .ToList();

    public void Dispose()
    {
        Api.Dispose();
        Peer.Dispose();
    }
}
