using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TraceAgent.Otlp.Receiver;

/// <summary>
/// Everything the receiver has been sent, behind one lock. Each change completes the current
/// "changed" task and replaces it, so waiters wake on every receipt instead of polling.
/// </summary>
internal sealed class ReceivedData
{
    private const int MaxItemsInTimeoutMessage = 200;

    private readonly Lock _lock = new();
    private readonly List<ReceivedSpan> _spans = [];
    private readonly List<ReceivedLogRecord> _logs = [];
    private readonly List<ReceivedRequest> _requests = [];
    private readonly List<string> _errors = [];
    private TaskCompletionSource _changed = NewSignal();

    public IReadOnlyList<ReceivedSpan> Spans
    {
        get
        {
            lock (_lock)
            {
                return [.. _spans];
            }
        }
    }

    public IReadOnlyList<ReceivedLogRecord> Logs
    {
        get
        {
            lock (_lock)
            {
                return [.. _logs];
            }
        }
    }

    public IReadOnlyList<ReceivedRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_lock)
            {
                return [.. _errors];
            }
        }
    }

    public int RequestCount
    {
        get
        {
            lock (_lock)
            {
                return _requests.Count;
            }
        }
    }

    public void AddRequest(ReceivedRequest request) => Change(() => _requests.Add(request));

    public void AddSpans(IReadOnlyList<ReceivedSpan> spans) => Change(() => _spans.AddRange(spans));

    public void AddLogs(IReadOnlyList<ReceivedLogRecord> logs) => Change(() => _logs.AddRange(logs));

    public void AddError(string error) => Change(() => _errors.Add(error));

    public void Clear() => Change(() =>
    {
        _spans.Clear();
        _logs.Clear();
        _requests.Clear();
        _errors.Clear();
    });

    public Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(Func<IReadOnlyList<ReceivedSpan>, bool> until, TimeSpan timeout) =>
        WaitAsync(_spans, until, timeout, "spans");

    public Task<IReadOnlyList<ReceivedLogRecord>> WaitForLogsAsync(Func<IReadOnlyList<ReceivedLogRecord>, bool> until, TimeSpan timeout) =>
        WaitAsync(_logs, until, timeout, "log records");

    public Task<IReadOnlyList<ReceivedRequest>> WaitForRequestsAsync(Func<IReadOnlyList<ReceivedRequest>, bool> until, TimeSpan timeout) =>
        WaitAsync(_requests, until, timeout, "requests");

    private async Task<IReadOnlyList<T>> WaitAsync<T>(
        List<T> source,
        Func<IReadOnlyList<T>, bool> until,
        TimeSpan timeout,
        string what)
    {
        ArgumentNullException.ThrowIfNull(until);
        long started = Stopwatch.GetTimestamp();
        while (true)
        {
            Task changed;
            T[] snapshot;

            // Taking the signal and the snapshot together means a receipt that lands after the
            // snapshot always completes the task awaited below: no wake-up is lost.
            lock (_lock)
            {
                changed = _changed.Task;
                snapshot = [.. source];
            }

            if (until(snapshot))
            {
                return snapshot;
            }

            TimeSpan remaining = timeout - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException(DescribeTimeout(what, timeout));
            }

            try
            {
                await changed.WaitAsync(remaining).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Loop once more: the condition gets a last look at the final snapshot before failing.
            }
        }
    }

    private string DescribeTimeout(string what, TimeSpan timeout)
    {
        ReceivedSpan[] spans;
        ReceivedLogRecord[] logs;
        ReceivedRequest[] requests;
        string[] errors;
        lock (_lock)
        {
            spans = [.. _spans];
            logs = [.. _logs];
            requests = [.. _requests];
            errors = [.. _errors];
        }

        var message = new StringBuilder();
        message.Append(CultureInfo.InvariantCulture, $"Timed out after {timeout.TotalSeconds:0.###} s waiting for the expected {what}. ");
        message.Append(CultureInfo.InvariantCulture, $"Received {requests.Length} export request(s), {spans.Length} span(s), {logs.Length} log record(s) so far.");
        AppendList(message, "Spans (name [kind] service trace span parent status)", spans);
        AppendList(message, "Log records", logs);
        if (requests.Length > 0 && spans.Length == 0 && logs.Length == 0)
        {
            AppendList(message, "Requests", requests);
        }

        AppendList(message, "Decode errors", errors);
        return message.ToString();
    }

    private static void AppendList<T>(StringBuilder message, string title, IReadOnlyList<T> items)
    {
        if (items.Count == 0)
        {
            return;
        }

        message.Append('\n').Append(title).Append(':');
        for (int i = 0; i < items.Count && i < MaxItemsInTimeoutMessage; i++)
        {
            message.Append("\n  ").Append(items[i]);
        }

        if (items.Count > MaxItemsInTimeoutMessage)
        {
            message.Append(CultureInfo.InvariantCulture, $"\n  ... and {items.Count - MaxItemsInTimeoutMessage} more");
        }
    }

    private void Change(Action change)
    {
        TaskCompletionSource previous;
        lock (_lock)
        {
            change();
            previous = _changed;
            _changed = NewSignal();
        }

        previous.TrySetResult();
    }

    // Waiters continue on the thread pool, never inline on the Kestrel request thread that signalled.
    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
