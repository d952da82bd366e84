using System.Diagnostics;
using System.Globalization;
using System.Text;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace TraceAgent.Otlp.Receiver;

/// <summary>
/// One metric of one export request, decoded with the classes generated from the official
/// opentelemetry-proto files (<see cref="Metric"/> is theirs), with the resource and scope it came under.
/// </summary>
public sealed class ReceivedMetric
{
    public required string ServiceName { get; init; }

    /// <summary>The resource it was sent under (service.instance.id tells two instances of one service apart).</summary>
    public Resource? Resource { get; init; }

    public required string ScopeName { get; init; }

    public string ScopeVersion { get; init; } = "";

    /// <summary>The number of the export request it came in, from 1, in arrival order.</summary>
    public required int Export { get; init; }

    /// <summary>"http/protobuf" or "grpc".</summary>
    public required string Protocol { get; init; }

    public required Metric Metric { get; init; }

    public string Name => Metric.Name;

    public override string ToString()
    {
        var points = Metric.DataCase switch
        {
            Metric.DataOneofCase.Sum => Metric.Sum.DataPoints.Count,
            Metric.DataOneofCase.Gauge => Metric.Gauge.DataPoints.Count,
            Metric.DataOneofCase.Histogram => Metric.Histogram.DataPoints.Count,
            _ => 0,
        };
        return string.Create(CultureInfo.InvariantCulture, $"#{Export} {ServiceName} {ScopeName} {Name} {Metric.DataCase} ({points} points)");
    }
}

/// <summary>
/// The metrics the receiver has been sent, behind one lock, with waiters woken on each receipt.
/// Apps export metrics on their own every interval, so a long-running receiver (the viewer) keeps
/// only the latest <see cref="MaxMetrics"/>.
/// </summary>
internal sealed class ReceivedMetricsStore
{
    public const int MaxMetrics = 100_000;

    private readonly Lock _lock = new();
    private readonly List<ReceivedMetric> _metrics = [];
    private int _exports;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<ReceivedMetric> Metrics
    {
        get
        {
            lock (_lock)
            {
                return [.. _metrics];
            }
        }
    }

    /// <summary>
    /// Decodes an ExportMetricsServiceRequest, keeping its metrics unless <paramref name="retain"/> is off;
    /// a malformed one throws <see cref="FormatException"/>.
    /// </summary>
    public IReadOnlyList<ReceivedMetric> Add(byte[] message, string protocol, bool retain = true)
    {
        ExportMetricsServiceRequest request;
        try
        {
            request = ExportMetricsServiceRequest.Parser.ParseFrom(message);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException ex)
        {
            throw new FormatException(ex.Message, ex);
        }

        var received = new List<ReceivedMetric>();
        TaskCompletionSource previous;
        lock (_lock)
        {
            var export = ++_exports;
            foreach (var resourceMetrics in request.ResourceMetrics)
            {
                var service = resourceMetrics.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? "";
                foreach (var scopeMetrics in resourceMetrics.ScopeMetrics)
                {
                    foreach (var metric in scopeMetrics.Metrics)
                    {
                        received.Add(new ReceivedMetric
                        {
                            ServiceName = service,
                            Resource = resourceMetrics.Resource,
                            ScopeName = scopeMetrics.Scope?.Name ?? "",
                            ScopeVersion = scopeMetrics.Scope?.Version ?? "",
                            Export = export,
                            Protocol = protocol,
                            Metric = metric,
                        });
                    }
                }
            }

            if (retain)
            {
                _metrics.AddRange(received);
            }

            if (_metrics.Count > MaxMetrics)
            {
                _metrics.RemoveRange(0, _metrics.Count - (MaxMetrics / 2));
            }
            previous = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        previous.TrySetResult();
        return received;
    }

    public void Clear()
    {
        lock (_lock)
        {
            _metrics.Clear();
        }
    }

    public async Task<IReadOnlyList<ReceivedMetric>> WaitAsync(Func<IReadOnlyList<ReceivedMetric>, bool> until, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(until);
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            Task changed;
            ReceivedMetric[] snapshot;
            lock (_lock)
            {
                changed = _changed.Task;
                snapshot = [.. _metrics];
            }

            if (until(snapshot))
            {
                return snapshot;
            }

            var remaining = timeout - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                var message = new StringBuilder();
                message.Append(CultureInfo.InvariantCulture, $"Timed out after {timeout.TotalSeconds:0.###} s waiting for the expected metrics; {snapshot.Length} received so far.");
                foreach (var metric in snapshot.TakeLast(200))
                {
                    message.Append("\n  ").Append(metric);
                }

                throw new TimeoutException(message.ToString());
            }

            try
            {
                await changed.WaitAsync(remaining).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // One last look at the final snapshot before failing.
            }
        }
    }
}
