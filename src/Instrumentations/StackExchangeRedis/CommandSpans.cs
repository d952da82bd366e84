using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Runtime.InteropServices;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.StackExchangeRedis;

/// <summary>
/// Turns profiled commands into client spans (stable database semantic conventions), and matches
/// the failures the app observed to the commands that caused them. IProfiledCommand carries no
/// result: a server error reply, a timeout or a lost connection is only known from the exception
/// the app sees (see ProfilingSessions.OnFirstChanceException).
/// </summary>
internal sealed class CommandSpans
{
    public const string SourceName = "TraceAgent.StackExchangeRedis";

    private static readonly ActivitySource Source = new(SourceName, typeof(CommandSpans).Assembly.GetName().Version?.ToString());

    // Two clocks meet here (the command's DateTime start plus a Stopwatch duration, and the
    // DateTime at which the exception surfaced); allow for their drift.
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMilliseconds(2);

    private static readonly string[] DatabaseNames = Enumerable.Range(0, 16).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<EndPoint, KeyValuePair<string, object?>[]> EndpointTags = new();

#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static List<KeyValuePair<string, object?>>? t_tags;
#pragma warning restore IDE1006

    private readonly Func<IProfiledCommand, string?>? _commandAndKey;
    private readonly Func<ActivityContext, bool> _recordsChildrenOf;
    private readonly DirectSpans? _direct;

    public CommandSpans(Func<IProfiledCommand, string?>? commandAndKey, Func<ActivityContext, bool>? recordsChildrenOf = null, DirectSpans? direct = null)
    {
        _commandAndKey = commandAndKey;
        _recordsChildrenOf = recordsChildrenOf ?? (static _ => true);
        _direct = direct;
    }

    /// <summary>
    /// Resolves the private members that give a command's key (ProfiledCommand.Message, then
    /// Message.CommandAndKey, present from 2.5 to 3.x); null with one log line when absent.
    /// </summary>
    public static Func<IProfiledCommand, string?>? FindCommandAndKey(Assembly library)
    {
        var profiled = library.GetType("StackExchange.Redis.Profiling.ProfiledCommand");
        var messageField = profiled?.GetField("Message", BindingFlags.NonPublic | BindingFlags.Instance);
        var commandAndKey = messageField?.FieldType.GetProperty("CommandAndKey", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance);
        if (messageField is null || commandAndKey?.GetMethod is null)
        {
            return null;
        }

        var getter = commandAndKey.GetMethod;
        return command => messageField.GetValue(command) is { } message ? getter.Invoke(message, null) as string : null;
    }

    public static bool HasListeners => Source.HasListeners();

    public void Write(ProfilingState state, List<IProfiledCommand> commands, List<ObservedFailure> failures, bool final)
    {
        // Commands are drained after their Activity stops: by then a trace held until its end
        // (keep errors or slow) may have been dropped, and its commands would make spans that
        // record nothing.
        if (!_recordsChildrenOf(state.Parent))
        {
            if (failures.Count > 0)
            {
                failures.Clear();
            }

            return;
        }

        var errors = MatchFailures(commands, failures, final);
        var written = _direct is null ? 0 : WriteDirect(_direct, state.Parent, commands, errors);
        if (written == commands.Count)
        {
            return;
        }

        var previous = Activity.Current;
        try
        {
            for (var i = written; i < commands.Count; i++)
            {
                Write(state.Parent, commands[i], errors?.GetValueOrDefault(commands[i]));
            }
        }
        finally
        {
            // A sampled request's commands are written in its stop callback, where the stopped
            // request is still current: Restore leaves it.
            CurrentActivity.Restore(previous);
        }
    }

    /// <summary>
    /// Spans written with no Activity (DirectSpans), in order: the common case, commands under a
    /// sampled parent; and the commands made with no current Activity, each a root decided as the
    /// sampler would decide its Activity, as the Kafka producer span is. Returns how many were
    /// written: the rest, from a root that TryStart declines (another exporter than OTLP, traces
    /// held for keep errors or slow), are left to Activities.
    /// </summary>
    private int WriteDirect(DirectSpans direct, ActivityContext parent, List<IProfiledCommand> commands, Dictionary<IProfiledCommand, Exception>? errors)
    {
        var roots = parent == default;
        if (!roots && !direct.CanWrite(Source, parent))
        {
            return 0;
        }

        for (var i = 0; i < commands.Count; i++)
        {
            var command = commands[i];
            // Read once: the library makes the name from its command enum on every read.
            var name = command.Command;
            DirectStart start = default;
            if (roots && !direct.TryStart(Source, null, name, ActivityKind.Client, out start))
            {
                return i;
            }

            var error = errors?.GetValueOrDefault(command);
            var errorType = error is null ? null : ErrorType(error);
            var tags = Tags(command, name, error, errorType);
            if (start.SamplingReason is { } reason)
            {
                tags.Add(new(DirectStart.SamplingReasonAttribute, reason));
            }

            var span = new DirectSpan(Source, roots ? start.Parent : parent, name, ActivityKind.Client, Start(command), command.ElapsedTime, CollectionsMarshal.AsSpan(tags))
            {
                Status = errorType is null ? ActivityStatusCode.Unset : ActivityStatusCode.Error,
                StatusDescription = errorType,
                Unsampled = roots && !start.Sampled,
            };
            if (roots)
            {
                direct.Write(span, start.SpanId);
            }
            else
            {
                direct.Write(span);
            }

            tags.Clear();
        }

        return commands.Count;
    }

    private void Write(ActivityContext parent, IProfiledCommand command, Exception? error)
    {
        var start = Start(command);
        var errorType = error is null ? null : ErrorType(error);
        var name = command.Command;
        var tags = Tags(command, name, error, errorType);
        var activity = Source.StartActivity(name, ActivityKind.Client, parent, tags, startTime: start);
        tags.Clear();
        if (activity is null)
        {
            return;
        }

        if (errorType is not null && activity.IsAllDataRequested)
        {
            activity.SetStatus(ActivityStatusCode.Error, errorType);
        }

        activity.SetEndTime(start + command.ElapsedTime);
        activity.Stop();
    }

    private static DateTime Start(IProfiledCommand command) => DateTime.SpecifyKind(command.CommandCreated, DateTimeKind.Utc);

    /// <summary>
    /// A command span's attributes, in one list per thread (StartActivity copies them; a span
    /// written with no Activity is encoded before the next command): the caller clears it.
    /// </summary>
    private List<KeyValuePair<string, object?>> Tags(IProfiledCommand command, string name, Exception? error, string? errorType)
    {
        var tags = t_tags ??= new List<KeyValuePair<string, object?>>(12);
        tags.Clear();
        tags.Add(new("db.system.name", "redis"));
        tags.Add(new("db.operation.name", name));
        if (command.Db >= 0)
        {
            tags.Add(new("db.namespace", command.Db < DatabaseNames.Length ? DatabaseNames[command.Db] : command.Db.ToString(CultureInfo.InvariantCulture)));
        }

        if (command.EndPoint is { } endpoint)
        {
            // One by one: List.AddRange of an array goes through the array's ICollection.CopyTo,
            // a framework generic over KeyValuePair that no precompiled image holds (the JIT
            // compiled it at the first command in every process).
            foreach (var tag in EndpointTagsOf(endpoint))
            {
                tags.Add(tag);
            }
        }

        if (_commandAndKey is not null)
        {
            tags.Add(new("db.query.text", QueryText(name, _commandAndKey(command))));
        }

        if (command.RetransmissionOf is not null)
        {
            tags.Add(new("db.redis.retransmission_reason", command.RetransmissionReason?.ToString()));
        }

        if (errorType is not null)
        {
            tags.Add(new("error.type", errorType));
            if (error is RedisServerException)
            {
                tags.Add(new("db.response.status_code", errorType));
            }
        }

        return tags;
    }

    private static KeyValuePair<string, object?>[] EndpointTagsOf(EndPoint endpoint)
    {
        if (EndpointTags.Count > 256)
        {
            EndpointTags.Clear();
        }

        return EndpointTags.GetOrAdd(endpoint, static e => Describe(e));
    }

    /// <summary>
    /// The command and its key only: what CommandAndKey gives for keyed commands; values never
    /// appear there. Commands it cannot describe (ad-hoc Execute calls in old versions) keep the name.
    /// </summary>
    private static string QueryText(string name, string? commandAndKey) =>
        commandAndKey is not null && commandAndKey.StartsWith(name, StringComparison.OrdinalIgnoreCase) ? commandAndKey : name;

    // A connection's endpoints are few and fixed: their attributes are formatted and boxed once.
    private static KeyValuePair<string, object?>[] Describe(EndPoint endpoint)
    {
        switch (endpoint)
        {
            case DnsEndPoint dns:
                return [new("server.address", dns.Host), new("server.port", dns.Port)];
            case IPEndPoint ip:
                var address = ip.Address.ToString();
                object port = ip.Port;
                return [new("server.address", address), new("server.port", port), new("network.peer.address", address), new("network.peer.port", port)];
            default:
                return [];
        }
    }

    /// <summary>The error prefix of a server reply ("ERR", "WRONGTYPE"), otherwise the exception type.</summary>
    private static string ErrorType(Exception error)
    {
        if (error is RedisServerException)
        {
            var message = error.Message;
            var end = message.IndexOf(' ', StringComparison.Ordinal);
            var prefix = end > 0 ? message[..end] : message;
            if (prefix.Length > 0 && prefix.All(c => c is >= 'A' and <= 'Z'))
            {
                return prefix;
            }
        }

        return error.GetType().FullName ?? error.GetType().Name;
    }

    /// <summary>
    /// Pairs each observed failure with the command that caused it. A timeout names its command and
    /// its timeout: the one command of that name created before the exception surfaced that lasted
    /// at least the timeout or was still waiting for its answer then (depending on the version and
    /// on sync or async, the library completes a timed-out command at the timeout or only when the
    /// answer comes). Any other failure: the last command of the session that completed before the
    /// exception surfaced. When that cannot tell one command apart (two such timed-out candidates,
    /// or another command of the session running at the same time as an unnamed culprit), the
    /// failure is not guessed at. Failures whose command has not completed yet wait for the next drain.
    /// </summary>
    internal static Dictionary<IProfiledCommand, Exception>? MatchFailures(List<IProfiledCommand> commands, List<ObservedFailure> failures, bool final)
    {
        if (failures.Count == 0)
        {
            return null;
        }

        var errors = new Dictionary<IProfiledCommand, Exception>(ReferenceEqualityComparer.Instance);
        var unmatched = new List<ObservedFailure>();
        foreach (var failure in failures)
        {
            var (named, timeout) = NamedCommand(failure.Exception);
            IProfiledCommand? culprit = null;
            var ambiguous = false;
            foreach (var command in commands)
            {
                if (errors.ContainsKey(command))
                {
                    continue;
                }

                if (named is not null)
                {
                    if (!string.Equals(command.Command, named, StringComparison.OrdinalIgnoreCase)
                        || command.CommandCreated > failure.ObservedAt + ClockSlack
                        || (End(command) < failure.ObservedAt - ClockSlack && command.ElapsedTime < timeout - ClockSlack))
                    {
                        continue;
                    }

                    ambiguous |= culprit is not null;
                    culprit = command;
                    continue;
                }

                if (End(command) > failure.ObservedAt + ClockSlack)
                {
                    continue;
                }

                if (culprit is null || End(command) > End(culprit))
                {
                    culprit = command;
                }
            }

            if (culprit is null)
            {
                unmatched.Add(failure);
                continue;
            }

            if (ambiguous || (named is null && commands.Any(other => !ReferenceEquals(other, culprit) && !errors.ContainsKey(other)
                && End(other) > culprit.CommandCreated && other.CommandCreated < End(culprit))))
            {
                continue;
            }

            errors[culprit] = failure.Exception;
        }

        failures.Clear();
        if (!final)
        {
            failures.AddRange(unmatched);
        }

        return errors;
    }

    private static DateTime End(IProfiledCommand command) => command.CommandCreated + command.ElapsedTime;

    /// <summary>The command a timeout names and the timeout it names (none for other failures).</summary>
    internal static (string? Command, TimeSpan Timeout) NamedCommand(Exception exception)
    {
        // A sync timeout: "Timeout performing GET (5000ms), ..." or "Timeout performing GET key (5000ms)";
        // an async one: "Timeout awaiting response (outbound=0KiB, ..., timeout is 5000ms), command=GET, ...".
        const string Sync = "Timeout performing ";
        const string Async = "Timeout awaiting response";
        const string AsyncCommand = ", command=";
        const string AsyncTimeout = "timeout is ";
        var message = exception.Message;
        int start;
        int timeoutAt;
        if (message.StartsWith(Sync, StringComparison.Ordinal))
        {
            start = Sync.Length;
            timeoutAt = message.IndexOf('(', start) + 1;
        }
        else if (message.StartsWith(Async, StringComparison.Ordinal) && message.IndexOf(AsyncCommand, StringComparison.Ordinal) is var at and >= 0)
        {
            start = at + AsyncCommand.Length;
            timeoutAt = message.IndexOf(AsyncTimeout, StringComparison.Ordinal) is var t and >= 0 ? t + AsyncTimeout.Length : 0;
        }
        else
        {
            return (null, TimeSpan.Zero);
        }

        var end = message.IndexOfAny([' ', ','], start);
        if (end <= start)
        {
            return (null, TimeSpan.Zero);
        }

        // The timeout's digits, followed by "ms"; unreadable: none, and only a command still in flight matches.
        var digits = 0;
        while (timeoutAt > 0 && timeoutAt + digits < message.Length && char.IsAsciiDigit(message[timeoutAt + digits]))
        {
            digits++;
        }

        var timeout = digits > 0 && message.AsSpan(timeoutAt + digits).StartsWith("ms", StringComparison.Ordinal)
            && int.TryParse(message.AsSpan(timeoutAt, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? TimeSpan.FromMilliseconds(ms)
            : TimeSpan.MaxValue;
        return (message[start..end], timeout);
    }
}
