using System.Globalization;

namespace TraceAgent.Bench;

/// <summary>
/// CPU time of a process from /proc/pid/stat: utime + stime of every thread, ended ones included,
/// in clock ticks (USER_HZ, 100 a second on Linux); cutime + cstime: children it has waited for.
/// </summary>
internal readonly record struct ProcStat(long Ticks, long ChildTicks, int ParentPid)
{
    public const double TicksPerSecond = 100;

    public static ProcStat Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // The command name (field 2) may hold spaces; the fields after it are space-separated.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long Field(int number) => long.Parse(fields[number - 3], NumberStyles.Integer, CultureInfo.InvariantCulture);
            return new ProcStat(Field(14) + Field(15), Field(16) + Field(17), (int)Field(4));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return default;
        }
    }

    /// <summary>CPU ticks of a process and all its descendants alive now (PostgreSQL's backends).</summary>
    public static long TreeTicks(int root)
    {
        var parents = new Dictionary<int, (int Parent, long Ticks)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid))
            {
                var stat = Read(pid);
                parents[pid] = (stat.ParentPid, stat.Ticks);
            }
        }

        long total = 0;
        foreach (var (pid, (_, ticks)) in parents)
        {
            for (int p = pid, depth = 0; p > 1 && depth < 16; depth++)
            {
                if (p == root)
                {
                    total += ticks;
                    break;
                }

                p = parents.TryGetValue(p, out var entry) ? entry.Parent : 0;
            }
        }

        return total;
    }

    public static long StatusKb(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    var value = line[(field.Length + 1)..].Trim();
                    return long.Parse(value[..value.IndexOf(' ', StringComparison.Ordinal)], NumberStyles.Integer, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            // The process ended.
        }

        return 0;
    }
}

/// <summary>The whole machine's CPU from /proc/stat: busy and total ticks over every core.</summary>
internal readonly record struct MachineStat(long Busy, long Total)
{
    public static MachineStat Read()
    {
        var line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        var values = line[4..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(v => long.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();

        // user nice system idle iowait irq softirq steal (guest time is already in user).
        long idle = values[3] + values[4];
        long total = values.Take(8).Sum();
        return new MachineStat(total - idle, total);
    }

    public static string LoadAverage()
    {
        var parts = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"{parts[0]} {parts[1]} {parts[2]}";
    }
}
