using System.Diagnostics;
using System.Globalization;

namespace TraceAgent.Bench;

/// <summary>One measured window of one run, per request where it says so.</summary>
internal sealed record Window(
    double Rps,
    long Requests,
    double P50Ms,
    double P99Ms,
    long Errors,
    double ApiCpuUs,
    double PeerCpuUs,
    double SinkCpuUs,
    double WrkCpuUs,
    double BackendCpuUs,
    double MachineBusyPercent,
    double ForeignPercent,
    double OtlpBytes,
    double Spans)
{
    /// <summary>CPU per request of the two services together.</summary>
    public double CpuUs => ApiCpuUs + PeerCpuUs;
}

/// <summary>One configuration's run in one round: fresh processes, both windows, memory, totals.</summary>
internal sealed record LoadRun(
    string Key,
    int Round,
    int Position,
    Window First,
    Window Steady,
    double ApiRssMb,
    double PeerRssMb,
    double ApiHwmMb,
    double PeerHwmMb,
    double ApiSpansPerRequest,
    double PeerSpansPerRequest,
    double LogRecordsPerRequest,
    long Metrics,
    IReadOnlyList<string> Warnings);

/// <summary>
/// wrk -c16 on /work. Per run: fresh api and peer; 2 s of load unmeasured; the "first seconds"
/// window (8 s); load on until 20 s; the "steady state" window (8 s). Each phase is its own wrk
/// run, back to back, so each window has its own latency percentiles. Configurations are
/// interleaved in each round and their order rotated from round to round.
/// </summary>
internal static class LoadBench
{
    public static List<LoadRun> Run(BenchOptions options, IReadOnlyList<Configuration> configurations, OtlpSink sink, Backends backends)
    {
        var runs = new List<LoadRun>();
        using var client = NewClient();
        for (int round = 0; round < options.LoadRounds; round++)
        {
            var order = Rotate([.. configurations.Where(c => c.Runtime != Configuration.Net8 || round < options.Net8Rounds)], round);
            for (int position = 0; position < order.Count; position++)
            {
                var configuration = order[position];
                var run = RunOne(options, configuration, sink, backends, client, round, position);
                runs.Add(run);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"load round {round + 1}/{options.LoadRounds} {position + 1}/{order.Count} {configuration.Key}: first {run.First.Rps:0} req/s {run.First.CpuUs:0} us/req, steady {run.Steady.Rps:0} req/s {run.Steady.CpuUs:0} us/req p99 {run.Steady.P99Ms:0.0} ms, rss {run.ApiRssMb:0}+{run.PeerRssMb:0} MB, spans/req {run.ApiSpansPerRequest:0.00}+{run.PeerSpansPerRequest:0.00}, machine {run.Steady.MachineBusyPercent:0}% busy, foreign {run.Steady.ForeignPercent:0}%"));
            }
        }

        return runs;
    }

    public static HttpClient NewClient() => new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), PooledConnectionLifetime = TimeSpan.Zero })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    public static List<T> Rotate<T>(IReadOnlyList<T> items, int by) =>
        [.. items.Skip(by % items.Count), .. items.Take(by % items.Count)];

    private static LoadRun RunOne(BenchOptions options, Configuration configuration, OtlpSink sink, Backends backends, HttpClient client, int round, int position)
    {
        using var pair = ServicePair.Start(options, configuration, sink, backends, client);
        long requests = 1;
        requests += Wrk.Run(pair.WorkUrl, options.Warmup).Requests;
        var first = Measure(options, pair, sink, options.Window);
        requests += first.Requests;
        requests += Wrk.Run(pair.WorkUrl, options.Between).Requests;
        var steady = Measure(options, pair, sink, options.Window);
        requests += steady.Requests;
        double apiRss = pair.Api.StatusKb("VmRSS") / 1024.0;
        double peerRss = pair.Peer.StatusKb("VmRSS") / 1024.0;
        double apiHwm = pair.Api.StatusKb("VmHWM") / 1024.0;
        double peerHwm = pair.Peer.StatusKb("VmHWM") / 1024.0;
        pair.Stop();

        // After the graceful stop every span the tracers held has been sent: counts are final.
        var api = sink.Snapshot(pair.ApiRoute);
        var peer = sink.Snapshot(pair.PeerRoute);
        return new LoadRun(
            configuration.Key,
            round,
            position,
            first,
            steady,
            apiRss,
            peerRss,
            apiHwm,
            peerHwm,
            api.Spans / (double)requests,
            peer.Spans / (double)requests,
            (api.LogRecords + peer.LogRecords) / (double)requests,
            api.Metrics + peer.Metrics,
            pair.Warnings());
    }

    public static Window Measure(BenchOptions options, ServicePair pair, OtlpSink sink, TimeSpan duration)
    {
        var before = Snapshot.Take(options, pair, sink);
        var result = Wrk.Run(pair.WorkUrl, duration);
        var after = Snapshot.Take(options, pair, sink);
        double n = Math.Max(1, result.Requests);
        double UsPerRequest(long ticks) => ticks * (1_000_000 / ProcStat.TicksPerSecond) / n;
        long api = after.Api.Ticks - before.Api.Ticks;
        long peer = after.Peer.Ticks - before.Peer.Ticks;
        long self = after.Self.Ticks - before.Self.Ticks;

        // wrk is the runner's only child that ends within the window: its CPU lands in cutime then.
        long wrk = after.Self.ChildTicks - before.Self.ChildTicks;
        long backend = after.Backend - before.Backend;
        long busy = after.Machine.Busy - before.Machine.Busy;
        long total = Math.Max(1, after.Machine.Total - before.Machine.Total);
        long foreign = Math.Max(0, busy - api - peer - self - wrk - backend);
        var otlp = after.Otlp - before.Otlp;
        return new Window(
            result.RequestsPerSecond,
            result.Requests,
            result.P50Ms,
            result.P99Ms,
            result.Errors,
            UsPerRequest(api),
            UsPerRequest(peer),
            UsPerRequest(self),
            UsPerRequest(wrk),
            UsPerRequest(backend),
            100.0 * busy / total,
            100.0 * foreign / total,
            otlp.Bytes / n,
            otlp.Spans / n);
    }

    private sealed record Snapshot(ProcStat Api, ProcStat Peer, ProcStat Self, long Backend, MachineStat Machine, SinkSnapshot Otlp)
    {
        public static Snapshot Take(BenchOptions options, ServicePair pair, OtlpSink sink)
        {
            long backend = (options.RedisPid is int redis ? ProcStat.Read(redis).Ticks : 0)
                + (options.PostgresPid is int postgres ? ProcStat.TreeTicks(postgres) : 0);
            return new Snapshot(
                pair.Api.Stat(),
                pair.Peer.Stat(),
                ProcStat.Read(Environment.ProcessId),
                backend,
                MachineStat.Read(),
                sink.Snapshot(pair.ApiRoute) + sink.Snapshot(pair.PeerRoute));
        }
    }
}
