using System.Globalization;

namespace TraceAgent.Viewer;

internal sealed class ViewerOptions
{
    public const string Usage = """
        traceagent-viewer: receives OTLP traces, logs and metrics, prints each trace as a tree with its
        analysis, keeps them, and serves a web UI (traces, service map, per-route request metrics with
        exemplar traces) and a Jaeger-compatible query API.

        usage: traceagent-viewer [options]
          --http-port N           OTLP/HTTP (protobuf) port on 127.0.0.1 (default 4318; 0 = any free port)
          --grpc-port N           OTLP/gRPC port on 127.0.0.1 (default 4317; 0 = any free port)
          --ui-port N             web UI and query API port on 127.0.0.1 (default 16686; 0 = any free port)
          --db FILE               keep traces in this SQLite file (default ~/.local/share/traceagent/traces.db)
          --memory                keep traces in memory only (lost on exit)
          --max-traces N          traces kept; the oldest are dropped first (default 10000)
          --max-age DURATION      traces older than this are dropped: 30m, 12h, 7d (default 7d)
          --quiet-ms N            a trace is shown once nothing for it arrived for N ms (default 1500)
          --json FILE             keep every trace, its spans, logs and findings in FILE (rewritten as traces finish)
          --exit-after-traces N   exit once N traces have been printed
          --exit-after-ms N       exit after N ms
          --min-spans N           print only traces with at least N spans; the JSON keeps all (default 1)
          --n-plus-one N          repeats of one operation under one parent that make an N+1 finding (default 5)
          --fan-out N             direct children that make a fan-out finding (default 10)
          --color | --no-color    force colours on or off (default: on when stdout is a terminal and NO_COLOR is unset)
          -h, --help              this text

        Ctrl+C or SIGTERM shows the traces still open and exits.
        """;

    public int HttpPort { get; private set; } = 4318;

    public int GrpcPort { get; private set; } = 4317;

    public int QuietMs { get; private set; } = 1500;

    public int UiPort { get; private set; } = 16686;

    /// <summary>The database file; null with <see cref="MemoryOnly"/>.</summary>
    public string? DatabasePath { get; private set; } = DefaultDatabasePath();

    public bool MemoryOnly { get; private set; }

    public int MaxTraces { get; private set; } = Storage.StoreOptions.DefaultMaxTraces;

    public TimeSpan MaxAge { get; private set; } = Storage.StoreOptions.DefaultMaxAge;

    public string? JsonPath { get; private set; }

    public int? ExitAfterTraces { get; private set; }

    public int? ExitAfterMs { get; private set; }

    public int MinSpans { get; private set; } = 1;

    public int NPlusOneThreshold { get; private set; } = 5;

    public int FanOutThreshold { get; private set; } = 10;

    public bool? Color { get; private set; }

    public bool ShowHelp { get; private set; }

    /// <exception cref="ArgumentException">An unknown option or a bad value, with a message for the user.</exception>
    public static ViewerOptions Parse(IReadOnlyList<string> args)
    {
        var options = new ViewerOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "-h":
                case "--help":
                    options.ShowHelp = true;
                    break;
                case "--color":
                    options.Color = true;
                    break;
                case "--no-color":
                    options.Color = false;
                    break;
                case "--http-port":
                    options.HttpPort = Int(args, ref i, 0, 65535);
                    break;
                case "--grpc-port":
                    options.GrpcPort = Int(args, ref i, 0, 65535);
                    break;
                case "--ui-port":
                    options.UiPort = Int(args, ref i, 0, 65535);
                    break;
                case "--db":
                    options.DatabasePath = Value(args, ref i);
                    break;
                case "--memory":
                    options.MemoryOnly = true;
                    break;
                case "--max-traces":
                    options.MaxTraces = Int(args, ref i, 1, int.MaxValue);
                    break;
                case "--max-age":
                    string age = Value(args, ref i);
                    options.MaxAge = Query.QueryParser.LookbackNanos(age) is long nanos and > 0
                        ? TimeSpan.FromTicks(nanos / 100)
                        : throw new ArgumentException($"--max-age wants a duration such as 30m, 12h or 7d, not '{age}'");
                    break;
                case "--quiet-ms":
                    options.QuietMs = Int(args, ref i, 1, int.MaxValue);
                    break;
                case "--json":
                    options.JsonPath = Value(args, ref i);
                    break;
                case "--exit-after-traces":
                    options.ExitAfterTraces = Int(args, ref i, 1, int.MaxValue);
                    break;
                case "--exit-after-ms":
                    options.ExitAfterMs = Int(args, ref i, 1, int.MaxValue);
                    break;
                case "--min-spans":
                    options.MinSpans = Int(args, ref i, 1, int.MaxValue);
                    break;
                case "--n-plus-one":
                    options.NPlusOneThreshold = Int(args, ref i, 2, int.MaxValue);
                    break;
                case "--fan-out":
                    options.FanOutThreshold = Int(args, ref i, 2, int.MaxValue);
                    break;
                default:
                    throw new ArgumentException($"unknown option '{arg}'");
            }
        }

        int[] ports = [.. new[] { options.HttpPort, options.GrpcPort, options.UiPort }.Where(p => p != 0)];
        if (ports.Distinct().Count() != ports.Length)
        {
            throw new ArgumentException("--http-port, --grpc-port and --ui-port must differ");
        }

        if (options.MemoryOnly)
        {
            options.DatabasePath = null;
        }

        return options;
    }

    private static string DefaultDatabasePath()
    {
        string data = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return data.Length > 0 ? Path.Combine(data, "traceagent", "traces.db") : Path.Combine(Environment.CurrentDirectory, "traceagent-traces.db");
    }

    private static string Value(IReadOnlyList<string> args, ref int i)
    {
        if (i + 1 >= args.Count)
        {
            throw new ArgumentException($"{args[i]} needs a value");
        }

        return args[++i];
    }

    private static int Int(IReadOnlyList<string> args, ref int i, int min, int max)
    {
        string name = args[i];
        string text = Value(args, ref i);
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            throw new ArgumentException($"{name} wants a whole number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}, not '{text}'");
        }

        return value;
    }
}
