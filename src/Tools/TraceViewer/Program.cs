using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Metrics;
using TraceAgent.Viewer.Output;
using TraceAgent.Viewer.Storage;
using TraceAgent.Viewer.Web;

ViewerOptions options;
try
{
    options = ViewerOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"traceagent-viewer: {ex.Message}");
    Console.Error.WriteLine(ViewerOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(ViewerOptions.Usage);
    return 0;
}

Console.OutputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
bool color = options.Color ?? (!Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null);
var printer = new TreePrinter(Console.Out, color);
using var stop = new CancellationTokenSource();
var jsonLock = new Lock();
var analysis = new AnalysisContext { NPlusOneThreshold = options.NPlusOneThreshold, FanOutThreshold = options.FanOutThreshold };
var printed = new HashSet<string>(StringComparer.Ordinal);
int hidden = 0;

TraceStore store;
try
{
    store = TraceStore.Open(
        new StoreOptions { DatabasePath = options.DatabasePath, MaxTraces = options.MaxTraces, MaxAge = options.MaxAge });
}
catch (IOException ex)
{
    Console.Error.WriteLine($"traceagent-viewer: {ex.Message}");
    return 1;
}

var metrics = new RouteMetricsStore();
using (store)
{
    OtlpReceiver? receiver = null;
    ViewerWebServer web;
    try
    {
        web = await ViewerWebServer.StartAsync(options.UiPort, store, metrics, () => receiver);
    }
    catch (IOException ex)
    {
        Console.Error.WriteLine($"traceagent-viewer: cannot serve the web UI on 127.0.0.1:{options.UiPort}: {ex.Message}");
        Console.Error.WriteLine("  pick another port with --ui-port (0 = any free port)");
        return 1;
    }

    await using (web)
    {
        void WriteJson()
        {
            if (options.JsonPath is null)
            {
                return;
            }

            lock (jsonLock)
            {
                try
                {
                    JsonReport.WriteFile(options.JsonPath, store.InStoredOrder());
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"traceagent-viewer: cannot write {options.JsonPath}: {ex.Message}");
                }
            }
        }

        var collector = new TraceCollector(
            TimeSpan.FromMilliseconds(options.QuietMs),
            analysis,
            store,
            (trace, late) =>
            {
                // Called from the tick loop only, so the counters need no lock.
                if (trace.Tree.Spans.Count < options.MinSpans)
                {
                    hidden += printed.Contains(trace.Tree.TraceId) || late != 0 ? 0 : 1;
                    return;
                }

                if (late >= 0)
                {
                    printer.Print(trace.Tree, trace.Findings, printed.Add(trace.Tree.TraceId) ? 0 : Math.Max(late, 1));
                    Console.Out.WriteLine($"  ↗ {web.TraceUrl(trace.Tree.TraceId)}");
                }
            });

        try
        {
            receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { HttpPort = options.HttpPort, GrpcPort = options.GrpcPort, RetainReceived = false });
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"traceagent-viewer: cannot listen on 127.0.0.1:{options.HttpPort} / :{options.GrpcPort}: {ex.Message}");
            Console.Error.WriteLine("  pick other ports with --http-port and --grpc-port (0 = any free port)");
            return 1;
        }

        await using (receiver)
        {
            receiver.SpansReceived += collector.AddSpans;
            receiver.LogsReceived += collector.AddLogs;
            receiver.MetricsReceived += metrics.Add;

            // Ctrl+C and SIGTERM end the wait; the traces still open are shown before exiting.
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            if (options.ExitAfterMs is int limit)
            {
                stop.CancelAfter(limit);
            }

            string kept = store.DatabasePath is null
                ? "in memory only"
                : $"in {store.DatabasePath} ({store.Loaded} kept from earlier runs{(store.Unreadable > 0 ? $", {store.Unreadable} unreadable skipped" : "")})";
            Console.WriteLine($"traceagent-viewer: web UI and Jaeger query API on {web.Url}");
            Console.WriteLine(
                $"traceagent-viewer: receiving OTLP on {receiver.HttpEndpoint} (http/protobuf) and {receiver.GrpcEndpoint} (grpc); "
                + $"a trace is shown {options.QuietMs} ms after its last span arrives");
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"traceagent-viewer: traces kept {kept}; at most {store.MaxTraces} traces for {Format.Age(store.MaxAge)}, oldest dropped first"));
            Console.Out.Flush();

            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Clamp(options.QuietMs / 5, 20, 250)));
            long lastPrune = Environment.TickCount64;
            try
            {
                while (await tick.WaitForNextTickAsync(stop.Token))
                {
                    int before = collector.FinishedCount;
                    long version = store.Version;
                    collector.FinishQuiet();
                    if (Environment.TickCount64 - lastPrune > 1000)
                    {
                        store.Prune();
                        metrics.Prune();
                        lastPrune = Environment.TickCount64;
                    }

                    if (collector.FinishedCount != before || store.Version != version)
                    {
                        WriteJson();
                    }

                    if (options.ExitAfterTraces is int wanted && printed.Count >= wanted)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Asked to stop: fall through to the final flush.
            }

            receiver.SpansReceived -= collector.AddSpans;
            receiver.LogsReceived -= collector.AddLogs;
            receiver.MetricsReceived -= metrics.Add;
        }

        collector.FinishQuiet(all: true);
        WriteJson();
        string hiddenText = hidden > 0 ? $" ({hidden} with fewer than {options.MinSpans} spans not printed)" : "";
        string droppedText = store.Dropped > 0 ? $"; {store.Dropped} dropped by the bounds" : "";
        Console.WriteLine($"traceagent-viewer: {printed.Count} trace(s) printed{hiddenText}; {store.Count} kept{droppedText}"
            + (options.JsonPath is null ? "" : $"; all written to {options.JsonPath}"));
    }
}

return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
