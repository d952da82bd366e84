using System.Net;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;
using TraceAgent.Instrumentation.StackExchangeRedis;

namespace TraceAgent.Tests.Instrumentations.StackExchangeRedis;

// Which command a failure the app observed is pinned on: the cases the end-to-end tests cannot
// arrange (a session with several commands of the same name, and the drains before the timed-out
// command has completed).
public sealed class FailureMatchingTests
{
    private static readonly DateTime T0 = new(2026, 12, 7, 10, 0, 0, DateTimeKind.Utc);

    private static Exception SyncTimeout(string command) =>
        new RedisTimeoutException($"Timeout performing {command} (200ms), next: {command} key, inst: 0, qu: 0", CommandStatus.Sent);

    private static Exception AsyncTimeout(string command) =>
        new RedisTimeoutException($"Timeout awaiting response (outbound=0KiB, inbound=0KiB, 996ms elapsed, timeout is 200ms), command={command}, next: {command} key", CommandStatus.Sent);

    private static ObservedFailure At(int ms, Exception exception) => new(exception, T0.AddMilliseconds(ms));

    private static Dictionary<IProfiledCommand, Exception>? Match(List<IProfiledCommand> commands, List<ObservedFailure> failures, bool final = false) =>
        CommandSpans.MatchFailures(commands, failures, final);

    [Theory]
    [InlineData("Timeout performing GET (200ms), next: GET key", "GET", 200)]
    [InlineData("Timeout performing GET key (5000ms), inst: 0", "GET", 5000)]
    [InlineData("Timeout awaiting response (outbound=0KiB, inbound=0KiB, 996ms elapsed, timeout is 200ms), command=HGET, next: HGET h", "HGET", 200)]
    public void A_timeout_names_its_command_and_its_timeout(string message, string command, int milliseconds)
    {
        var (named, timeout) = CommandSpans.NamedCommand(new RedisTimeoutException(message, CommandStatus.Sent));
        Assert.Equal(command, named);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), timeout);
    }

    [Fact]
    public void Other_failures_name_nothing_and_an_unreadable_timeout_is_none()
    {
        Assert.Null(CommandSpans.NamedCommand(new RedisServerException("ERR value is not an integer")).Command);
        Assert.Equal(TimeSpan.MaxValue, CommandSpans.NamedCommand(new RedisTimeoutException("Timeout performing GET, inst: 0", CommandStatus.Sent)).Timeout);
    }

    [Fact]
    public void A_timeout_waits_for_its_command_and_never_blames_an_earlier_one_of_the_same_name()
    {
        // GET at 0 answered at 5 ms; GET at 10 ms times out (surfaces at 210 ms) and is answered at 700 ms.
        var earlier = new FakeCommand("GET", 0, 5);
        var timedOut = new FakeCommand("GET", 10, 690);
        var failures = new List<ObservedFailure> { At(210, SyncTimeout("GET")) };

        // The drain at the request's end has only the earlier command: the failure waits.
        Assert.Empty(Match([earlier], failures)!);
        Assert.Single(failures);

        // The next drain has the timed-out one.
        var errors = Match([timedOut], failures)!;
        Assert.Equal([timedOut], errors.Keys);
        Assert.Empty(failures);
    }

    [Fact]
    public void A_command_completed_at_its_timeout_is_blamed_by_its_duration()
    {
        // 3.x completes an async timed-out command at the timeout, a little before the await sees it.
        var completedAtTimeout = new FakeCommand("GET", 0, 996);
        var earlier = new FakeCommand("GET", -300, 4);
        var errors = Match([earlier, completedAtTimeout], [At(1000, AsyncTimeout("GET"))])!;
        Assert.Equal([completedAtTimeout], errors.Keys);
    }

    [Fact]
    public void Two_commands_that_could_have_timed_out_are_not_guessed_between()
    {
        var first = new FakeCommand("GET", 0, 690);
        var second = new FakeCommand("GET", 1, 689);
        var failures = new List<ObservedFailure> { At(210, SyncTimeout("GET")) };
        Assert.Empty(Match([first, second], failures)!);
        Assert.Empty(failures);
    }

    [Fact]
    public void A_server_error_is_pinned_on_the_last_command_completed_before_it()
    {
        var set = new FakeCommand("SET", 0, 2);
        var incr = new FakeCommand("INCRBY", 3, 2);
        var errors = Match([set, incr], [At(6, new RedisServerException("ERR value is not an integer"))])!;
        Assert.Equal([incr], errors.Keys);
    }

    [Fact]
    public void A_failure_whose_command_never_completed_is_dropped_at_the_final_drain()
    {
        var failures = new List<ObservedFailure> { At(210, SyncTimeout("GET")) };
        Assert.Empty(Match([new FakeCommand("SET", 0, 2)], failures, final: true)!);
        Assert.Empty(failures);
    }

    private sealed class FakeCommand(string name, int createdMs, int elapsedMs) : IProfiledCommand
    {
        public EndPoint EndPoint { get; } = new IPEndPoint(IPAddress.Loopback, 6379);

        public int Db => 0;

        public string Command { get; } = name;

        public CommandFlags Flags => CommandFlags.None;

        public DateTime CommandCreated { get; } = T0.AddMilliseconds(createdMs);

        public TimeSpan CreationToEnqueued => TimeSpan.Zero;

        public TimeSpan EnqueuedToSending => TimeSpan.Zero;

        public TimeSpan SentToResponse => TimeSpan.FromMilliseconds(elapsedMs);

        public TimeSpan ResponseToCompletion => TimeSpan.Zero;

        public TimeSpan ElapsedTime { get; } = TimeSpan.FromMilliseconds(elapsedMs);

        public IProfiledCommand? RetransmissionOf => null;

        public RetransmissionReasonType? RetransmissionReason => null;
    }
}
