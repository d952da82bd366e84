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

    public static Window Measure(BenchOptions options, ServicePair pair, OtlpSink sink, TimeSpan duration) =>
        MeasureTogether(options, [pair], sink, duration)[0];

    /// <summary>
    /// One window in which every pair is under its own wrk at once, over the same seconds; a window
    /// per pair, in order. What the pairs share (the runner and its sink, the wrk processes, Redis
    /// and PostgreSQL) is given per request of all the pairs together.
    /// </summary>
    public static Window[] MeasureTogether(BenchOptions options, IReadOnlyList<ServicePair> pairs, OtlpSink sink, TimeSpan duration)
    {
        var before = Snapshot.Take(options, pairs, sink);
        var results = Wrk.RunTogether([.. pairs.Select(p => p.WorkUrl)], duration);
        var after = Snapshot.Take(options, pairs, sink);
        double all = Math.Max(1, results.Sum(r => r.Requests));
        long services = 0;
        for (int i = 0; i < pairs.Count; i++)
        {
            services += after.Api[i].Ticks - before.Api[i].Ticks + after.Peer[i].Ticks - before.Peer[i].Ticks;
        }

        long self = after.Self.Ticks - before.Self.Ticks;

        // The wrk processes are the runner's only children that end within the window: their CPU
        // lands in cutime then.
        long wrk = after.Self.ChildTicks - before.Self.ChildTicks;
        long backend = after.Backend - before.Backend;
        long busy = after.Machine.Busy - before.Machine.Busy;
        long total = Math.Max(1, after.Machine.Total - before.Machine.Total);
        long foreign = Math.Max(0, busy - services - self - wrk - backend);
        static double UsPer(long ticks, double requests) => ticks * (1_000_000 / ProcStat.TicksPerSecond) / requests;
        var windows = new Window[pairs.Count];
        for (int i = 0; i < pairs.Count; i++)
        {
            var result = results[i];
            double n = Math.Max(1, result.Requests);
            var otlp = after.Otlp[i] - before.Otlp[i];
            windows[i] = new Window(
                result.RequestsPerSecond,
                result.Requests,
                result.P50Ms,
                result.P99Ms,
                result.Errors,
                UsPer(after.Api[i].Ticks - before.Api[i].Ticks, n),
                UsPer(after.Peer[i].Ticks - before.Peer[i].Ticks, n),
                UsPer(self, all),
                UsPer(wrk, all),
                UsPer(backend, all),
                100.0 * busy / total,
                100.0 * foreign / total,
                otlp.Bytes / n,
                otlp.Spans / n);
        }

        return windows;
    }

    private sealed record Snapshot(ProcStat[] Api, ProcStat[] Peer, ProcStat Self, long Backend, MachineStat Machine, SinkSnapshot[] Otlp)
    {
        public static Snapshot Take(BenchOptions options, IReadOnlyList<ServicePair> pairs, OtlpSink sink)
        {
            long backend = (options.RedisPid is int redis ? ProcStat.Read(redis).Ticks : 0)
                + (options.PostgresPid is int postgres ? ProcStat.TreeTicks(postgres) : 0);
            return new Snapshot(
                [.. pairs.Select(p => p.Api.Stat())],
                [.. pairs.Select(p => p.Peer.Stat())],
                ProcStat.Read(Environment.ProcessId),
                backend,
                MachineStat.Read(),
                [.. pairs.Select(p => sink.Snapshot(p.ApiRoute) + sink.Snapshot(p.PeerRoute))]);
        }
    }
}
