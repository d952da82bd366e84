using System.Runtime.InteropServices;
using System.Text;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Output;

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
TraceCollector? collector = null;
var printed = new HashSet<string>(StringComparer.Ordinal);
int hidden = 0;

void WriteJson()
{
    if (options.JsonPath is null || collector is null)
    {
        return;
    }

    lock (jsonLock)
    {
        try
        {
            JsonReport.WriteFile(options.JsonPath, collector.Snapshot());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"traceagent-viewer: cannot write {options.JsonPath}: {ex.Message}");
        }
    }
}

collector = new TraceCollector(
    TimeSpan.FromMilliseconds(options.QuietMs),
    new AnalysisContext { NPlusOneThreshold = options.NPlusOneThreshold, FanOutThreshold = options.FanOutThreshold },
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
        }
    });

OtlpReceiver receiver;
try
{
    receiver = await OtlpReceiver.StartAsync(new OtlpReceiverOptions { HttpPort = options.HttpPort, GrpcPort = options.GrpcPort });
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

    // Ctrl+C and SIGTERM end the wait; the traces still open are shown before exiting.
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
    if (options.ExitAfterMs is int limit)
    {
        stop.CancelAfter(limit);
    }

    Console.WriteLine(
        $"traceagent-viewer: receiving OTLP on {receiver.HttpEndpoint} (http/protobuf) and {receiver.GrpcEndpoint} (grpc); "
        + $"a trace is shown {options.QuietMs} ms after its last span arrives");
    Console.Out.Flush();

    using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Clamp(options.QuietMs / 5, 20, 250)));
    try
    {
        while (await tick.WaitForNextTickAsync(stop.Token))
        {
            int before = collector.FinishedCount;
            collector.FinishQuiet();
            if (collector.FinishedCount != before)
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
}

collector.FinishQuiet(all: true);
WriteJson();
string hiddenText = hidden > 0 ? $" ({hidden} with fewer than {options.MinSpans} spans not printed)" : "";
Console.WriteLine($"traceagent-viewer: {printed.Count} trace(s) printed{hiddenText}" + (options.JsonPath is null ? "" : $"; all {collector.FinishedCount} written to {options.JsonPath}"));
return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
