using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace TraceAgent.Bench;

internal sealed record WrkResult(double RequestsPerSecond, long Requests, double P50Ms, double P99Ms, long Errors);

/// <summary>Runs wrk (-t2 -c16 --latency) and reads its summary.</summary>
internal static partial class Wrk
{
    public static WrkResult Run(string url, TimeSpan duration, int connections = 16, int threads = 2) =>
        Finish(Start(url, duration, connections, threads), duration);

    /// <summary>One wrk per URL, all running at once over the same seconds; results in URL order.</summary>
    public static WrkResult[] RunTogether(IReadOnlyList<string> urls, TimeSpan duration)
    {
        var started = urls.Select(url => Start(url, duration, 16, 2)).ToList();
        return [.. started.Select(run => Finish(run, duration))];
    }

    private static (Process Process, Task<string> Output, Task<string> Error) Start(string url, TimeSpan duration, int connections, int threads)
    {
        var info = new ProcessStartInfo("wrk")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[]
        {
            "-t", threads.ToString(CultureInfo.InvariantCulture),
            "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", ((int)Math.Ceiling(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s",
            "--timeout", "5s", "--latency", url,
        })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("wrk did not start");
        return (process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }

    private static WrkResult Finish((Process Process, Task<string> Output, Task<string> Error) run, TimeSpan duration)
    {
        using var process = run.Process;
        if (!process.WaitForExit((int)duration.TotalMilliseconds + 30_000))
        {
            process.Kill();
            throw new InvalidOperationException("wrk did not finish");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException("wrk failed: " + run.Output.Result + run.Error.Result);
        }

        return Parse(run.Output.Result);
    }

    public static WrkResult Parse(string output)
    {
        double rps = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        long requests = long.Parse(Requests().Match(output).Groups[1].Value, NumberStyles.Integer, CultureInfo.InvariantCulture);
        double p50 = Percentile(output, "50%");
        double p99 = Percentile(output, "99%");
        long errors = 0;
        var non2xx = Non2xx().Match(output);
        if (non2xx.Success)
        {
            errors += long.Parse(non2xx.Groups[1].Value, NumberStyles.Integer, CultureInfo.InvariantCulture);
        }

        var socket = SocketErrors().Match(output);
        if (socket.Success)
        {
            for (int g = 1; g <= 4; g++)
            {
                errors += long.Parse(socket.Groups[g].Value, NumberStyles.Integer, CultureInfo.InvariantCulture);
            }
        }

        return new WrkResult(rps, requests, p50, p99, errors);
    }

    private static double Percentile(string output, string label)
    {
        var match = Regex.Match(output, @"^\s*" + Regex.Escape(label) + @"\s+([\d.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline);
        if (!match.Success)
        {
            return double.NaN;
        }

        double value = double.Parse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "us" => value / 1000,
            "ms" => value,
            "s" => value * 1000,
            _ => value * 60_000,
        };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex Requests();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xx();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}
