using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TraceAgent.Bench;

/// <summary>
/// build/profile.sh: the load part's two services under one configuration, with `perf record -g`
/// over both processes during the first-seconds window and again during the steady window. The
/// runtime writes /tmp/perf-PID.map (DOTNET_PerfMapEnabled=1) so that perf names JIT-compiled
/// frames. Prints, per window: CPU samples by thread, by module, the top frames, and the agent's
/// frames with what runs under them; and after the steady window, what each process's resident
/// memory is made of. Both processes also log every method the JIT compiles, with its time and
/// size (DOTNET_JitTimeLogCsv): what the agent's own code costs the JIT over the run.
/// </summary>
internal static class Profiler
{
    public static int Run(BenchOptions options, OtlpSink sink, Backends backends)
    {
        var directory = options.ProfileDirectory ?? Path.Combine(options.Artifacts, "profile");
        Directory.CreateDirectory(directory);
        var summary = new StringBuilder();
        using var client = LoadBench.NewClient();
        foreach (var key in options.ProfileConfiguration!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var configuration = Configurations.Get(key);
            var tally = Path.Combine(directory, key + "-alloc");
            var extra = new Dictionary<string, string>
            {
                ["DOTNET_PerfMapEnabled"] = "1",
                ["DOTNET_EnableWriteXorExecute"] = "0",
                ["DOTNET_STARTUP_HOOKS"] = Path.Combine(options.Artifacts, "alloc-tally", "AllocTally.dll"),
                ["ALLOC_TALLY_FILE"] = tally,
                ["DOTNET_JitTimeLogCsv"] = Path.Combine(directory, key + "-jit-{role}.csv"),
            };
            foreach (var role in new[] { "api", "peer" })
            {
                // The runtime appends to the file.
                File.Delete(Path.Combine(directory, key + "-jit-" + role + ".csv"));
            }

            var maps = new List<string>();
            using (var pair = ServicePair.Start(options, configuration, sink, backends, client, extra))
            {
                maps.Add($"/tmp/perf-{pair.Api.Pid}.map");
                maps.Add($"/tmp/perf-{pair.Peer.Pid}.map");
                var pids = string.Create(CultureInfo.InvariantCulture, $"{pair.Api.Pid},{pair.Peer.Pid}");
                Wrk.Run(pair.WorkUrl, options.Warmup);
                var beforeFirst = AllocationSnapshot(tally, pair);
                var first = Record(pair, pids, Path.Combine(directory, key + "-first.perf.data"), options.Window);
                var afterFirst = AllocationSnapshot(tally, pair);
                Wrk.Run(pair.WorkUrl, options.Between);
                var beforeSteady = AllocationSnapshot(tally, pair);
                var steady = Record(pair, pids, Path.Combine(directory, key + "-steady.perf.data"), options.Window);
                var afterSteady = AllocationSnapshot(tally, pair);
                var memory = Memory(configuration, pair.Api.Pid, pair.Peer.Pid)
                    + Allocations(configuration, "first seconds", beforeFirst, afterFirst, first.Load)
                    + Allocations(configuration, "steady state", beforeSteady, afterSteady, steady.Load);
                File.WriteAllText(Path.Combine(directory, key + "-memory.txt"), memory);
                summary.Append(memory);
                Console.Out.Write(memory);
                pair.Stop();
                var jit = JitSummary(configuration, directory, key);
                File.WriteAllText(Path.Combine(directory, key + "-jit.txt"), jit);
                summary.Append(jit);
                Console.Out.Write(jit);
                foreach (var (window, data, load) in new[] { ("first seconds", first.Data, first.Load), ("steady state", steady.Data, steady.Load) })
                {
                    var text = Summarise(configuration, window, data, load, pair.Api.Pid, pair.Peer.Pid);
                    File.WriteAllText(Path.ChangeExtension(data, ".txt"), text);
                    summary.Append(text);
                    Console.Out.Write(text);
                }
            }

            if (Environment.GetEnvironmentVariable("KEEP_PERF_MAPS") != "1")
            {
                foreach (var map in maps)
                {
                    File.Delete(map);
                }
            }
        }

        File.WriteAllText(Path.Combine(directory, "summary.txt"), summary.ToString());
        Console.Error.WriteLine($"profiles and their reports are in {directory}");
        return 0;
    }

    /// <summary>
    /// The allocation tallies of both processes (tests/Agent.Benchmarks/Apps/AllocTally, a second
    /// startup hook that rewrites its file every 200 ms), read once the load has been off long
    /// enough for the files to include all of it.
    /// </summary>
    private static (Dictionary<string, long> Api, Dictionary<string, long> Peer) AllocationSnapshot(string tally, ServicePair pair)
    {
        Thread.Sleep(TimeSpan.FromMilliseconds(500));
        return (Read(pair.Api.Pid), Read(pair.Peer.Pid));

        Dictionary<string, long> Read(int pid)
        {
            var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
            var file = string.Create(CultureInfo.InvariantCulture, $"{tally}-{pid}.tsv");
            if (File.Exists(file))
            {
                foreach (var line in File.ReadLines(file))
                {
                    var fields = line.Split('\t', 3);
                    if (fields.Length == 3)
                    {
                        bytes[fields[2]] = long.Parse(fields[0], CultureInfo.InvariantCulture);
                    }
                }
            }

            return bytes;
        }
    }

    /// <summary>What each process allocated per request in a window, by type (estimated from the runtime's sampling, one event per ~100 KB).</summary>
    private static string Allocations(Configuration configuration, string window, (Dictionary<string, long> Api, Dictionary<string, long> Peer) before, (Dictionary<string, long> Api, Dictionary<string, long> Peer) after, WrkResult load)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"==== {configuration.Label}: bytes allocated per request in the {window} window, by type ({load.Requests} requests; sampled by the runtime every ~100 KB)"));
        foreach (var (role, start, end) in new[] { ("api", before.Api, after.Api), ("peer", before.Peer, after.Peer) })
        {
            var delta = end.Select(e => (Type: e.Key, Bytes: e.Value - start.GetValueOrDefault(e.Key))).Where(d => d.Bytes > 0).ToList();
            double total = delta.Sum(d => (double)d.Bytes);
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"-- {role}: {total / Math.Max(1, load.Requests):0} B/request"));
            foreach (var (type, bytes) in delta.OrderByDescending(d => d.Bytes).Take(30))
            {
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)Math.Max(1, load.Requests),8:0}  {100 * bytes / total,5:0.0}%  {type}"));
            }
        }

        text.AppendLine();
        return text.ToString();
    }

    /// <summary>
    /// What the JIT compiled in each process over the whole run (start, both windows, the stop),
    /// from the runtime's JIT time log: compilations, code size and JIT time (the JIT's own count
    /// of cycles), all methods and the agent's; a method compiled twice or three times is one that
    /// tiered up. The time is measured on the JIT's thread, preemptions included, so under load it
    /// is an upper bound; the code size does not depend on the machine's load.
    /// </summary>
    private static string JitSummary(Configuration configuration, string directory, string key)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"==== {configuration.Label}: what the JIT compiled over the run (DOTNET_JitTimeLogCsv, {directory}/{key}-jit-ROLE.csv)"));
        foreach (var role in new[] { "api", "peer" })
        {
            var file = Path.Combine(directory, key + "-jit-" + role + ".csv");
            if (!File.Exists(file))
            {
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"-- {role}: no JIT log"));
                continue;
            }

            var methods = new List<(string Name, long Cycles, long Bytes)>();
            int cyclesColumn = -1, bytesColumn = -1;
            foreach (var line in File.ReadLines(file))
            {
                var fields = CsvFields(line);
                if (cyclesColumn < 0)
                {
                    cyclesColumn = fields.IndexOf("Total Cycles");
                    bytesColumn = fields.IndexOf("Executable Code Bytes");
                    continue;
                }

                if (fields.Count > Math.Max(cyclesColumn, bytesColumn))
                {
                    methods.Add((fields[0], long.Parse(fields[cyclesColumn], CultureInfo.InvariantCulture), long.Parse(fields[bytesColumn], CultureInfo.InvariantCulture)));
                }
            }

            var agent = methods.Where(m => m.Name.Contains("TraceAgent.", StringComparison.Ordinal)).ToList();
            var byMethod = agent.GroupBy(m => m.Name).Select(g => (Name: g.Key, Count: g.Count(), Cycles: g.Sum(m => m.Cycles), Bytes: g.Sum(m => m.Bytes))).ToList();
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"-- {role}: {methods.Count} compilations, {methods.Sum(m => m.Bytes) / 1024.0:0} KB of code, {methods.Sum(m => m.Cycles) / 1e6:0} Mcycles; the agent's methods: {agent.Count} compilations ({byMethod.Count(m => m.Count > 1)} methods more than once), {agent.Sum(m => m.Bytes) / 1024.0:0} KB, {agent.Sum(m => m.Cycles) / 1e6:0} Mcycles"));
            foreach (var method in byMethod.OrderByDescending(m => m.Cycles).Take(20))
            {
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{method.Cycles / 1e6,8:0.0} Mcycles {method.Count}x {method.Bytes,7} B  {(method.Name.Length > 150 ? method.Name[..150] : method.Name)}"));
            }
        }

        text.AppendLine();
        return text.ToString();
    }

    // One line of the JIT's CSV: fields separated by commas, a quoted field may hold commas.
    private static List<string> CsvFields(string line)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ',' && !quoted)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return fields;
    }

    private static (string Data, WrkResult Load) Record(ServicePair pair, string pids, string data, TimeSpan window)
    {
        var perf = new ProcessStartInfo("perf") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "record", "-F", "999", "-g", "-p", pids, "-o", data, "--", "sleep", ((int)window.TotalSeconds).ToString(CultureInfo.InvariantCulture) })
        {
            perf.ArgumentList.Add(argument);
        }

        using var recorder = Process.Start(perf) ?? throw new InvalidOperationException("perf did not start");
        var errors = recorder.StandardError.ReadToEndAsync();
        var load = Wrk.Run(pair.WorkUrl, window);
        recorder.WaitForExit();
        if (recorder.ExitCode != 0)
        {
            throw new InvalidOperationException("perf record failed: " + errors.Result);
        }

        return (data, load);
    }

    private static string Summarise(Configuration configuration, string window, string data, WrkResult load, int api, int peer)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"==== {configuration.Label}: {window} ({load.RequestsPerSecond:0} req/s, p99 {load.P99Ms:0.0} ms) — {data}"));
        text.AppendLine(Shares(data, api, peer));
        Section(text, "CPU samples by thread name (both processes; '.NET Tiered Com' is the tiered JIT)", data, ["--no-children", "--sort", "comm"], 15, null);
        Section(text, "by module ([JIT] tid / perf-PID.map: managed code)", data, ["--no-children", "--sort", "dso"], 12, null);
        Section(text, "top frames, self time", data, ["--no-children", "--sort", "sym"], 40, null);
        Section(text, "the agent's frames (TraceAgent.*), with what runs under them", data, ["--children", "--sort", "sym"], 25, "TraceAgent");
        return text.ToString();
    }

    /// <summary>
    /// What each process's resident memory is at the end of the steady window, from
    /// /proc/PID/smaps: anonymous memory (the GC heap, the JIT's code and the runtime's own heaps:
    /// executable anonymous mappings are JIT-compiled code) apart from each mapped file.
    /// </summary>
    private static string Memory(Configuration configuration, int api, int peer)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"==== {configuration.Label}: resident memory at the end of the steady window (kB, from /proc/PID/smaps)"));
        foreach (var (role, pid) in new[] { ("api", api), ("peer", peer) })
        {
            var rss = new Dictionary<string, long>(StringComparer.Ordinal);
            string current = "?";
            foreach (var line in File.ReadLines(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/smaps")))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length >= 5 && fields[0].Contains('-', StringComparison.Ordinal) && !fields[0].EndsWith(':'))
                {
                    // A mapping's header: "start-end perms offset dev inode [path]".
                    var path = fields.Length >= 6 ? string.Join(' ', fields[5..]) : "";
                    current = path.Length == 0
                        ? (fields[1].Contains('x', StringComparison.Ordinal) ? "anonymous, executable (JIT code, stubs)" : "anonymous (GC heap, runtime heaps)")
                        : path.StartsWith('[') ? path : Path.GetFileName(path);
                }
                else if (fields.Length >= 2 && fields[0] == "Rss:")
                {
                    rss[current] = rss.GetValueOrDefault(current) + long.Parse(fields[1], CultureInfo.InvariantCulture);
                }
            }

            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"-- {role}: {rss.Values.Sum()} kB"));
            foreach (var (name, kb) in rss.Where(r => r.Value >= 256).OrderByDescending(r => r.Value))
            {
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{kb,8}  {name}"));
            }
        }

        text.AppendLine();
        return text.ToString();
    }

    /// <summary>Of all samples: those with a TraceAgent frame anywhere on the stack, per process, and the tiered JIT's.</summary>
    private static string Shares(string data, int api, int peer)
    {
        var info = new ProcessStartInfo("perf") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "script", "-i", data, "-F", "comm,pid,ip,sym" })
        {
            info.ArgumentList.Add(argument);
        }

        using var script = Process.Start(info) ?? throw new InvalidOperationException("perf script did not start");
        _ = script.StandardError.ReadToEndAsync();
        var samples = new Dictionary<int, (long All, long Agent, long Jit)>();
        int pid = 0;
        bool jit = false;
        bool agent = false;
        void Flush()
        {
            if (pid != 0)
            {
                samples.TryGetValue(pid, out var counts);
                samples[pid] = (counts.All + 1, counts.Agent + (agent ? 1 : 0), counts.Jit + (jit ? 1 : 0));
            }

            pid = 0;
        }

        while (script.StandardOutput.ReadLine() is { } line)
        {
            if (line.Length == 0)
            {
                Flush();
            }
            else if (line[0] != '\t')
            {
                // A sample's first line, "<comm> <pid>" (the thread name may hold spaces); its
                // stack follows, one frame a line, each indented with a tab.
                Flush();
                var parts = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                pid = int.TryParse(parts[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int p) ? p : -1;
                jit = line.Contains(".NET Tiered Com", StringComparison.Ordinal);
                agent = false;
            }
            else if (line.Contains("[TraceAgent", StringComparison.Ordinal))
            {
                agent = true;
            }
        }

        Flush();
        script.WaitForExit();
        long all = samples.Values.Sum(c => c.All);
        string Percent(long part, long whole) => whole == 0 ? "-" : (100.0 * part / whole).ToString("0.0", CultureInfo.InvariantCulture) + "%";
        var a = samples.GetValueOrDefault(api);
        var b = samples.GetValueOrDefault(peer);
        return string.Create(CultureInfo.InvariantCulture,
            $"samples: {all} (api {a.All}, peer {b.All}); with an agent frame on the stack: {Percent(samples.Values.Sum(c => c.Agent), all)} (api {Percent(a.Agent, a.All)}, peer {Percent(b.Agent, b.All)}); in the tiered JIT thread: {Percent(samples.Values.Sum(c => c.Jit), all)} (api {Percent(a.Jit, a.All)}, peer {Percent(b.Jit, b.All)})");
    }

    private static void Section(StringBuilder text, string title, string data, string[] sort, int lines, string? filter)
    {
        var info = new ProcessStartInfo("perf") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "report", "-i", data, "--stdio", "-q", "-g", "none", "--percent-limit", "0.3" }.Concat(sort))
        {
            info.ArgumentList.Add(argument);
        }

        using var report = Process.Start(info) ?? throw new InvalidOperationException("perf report did not start");
        _ = report.StandardError.ReadToEndAsync();
        var output = report.StandardOutput.ReadToEnd();
        report.WaitForExit();
        text.AppendLine("-- " + title);
        foreach (var line in output.Split('\n')
            .Where(l => l.Trim().Length > 0 && !l.StartsWith('#'))
            .Where(l => filter is null || l.Contains(filter, StringComparison.Ordinal))
            .Take(lines))
        {
            text.AppendLine(line.TrimEnd());
        }

        text.AppendLine();
    }
}
