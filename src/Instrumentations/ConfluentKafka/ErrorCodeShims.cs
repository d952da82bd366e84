using Confluent.Kafka;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// Every use of Confluent's <see cref="ErrorCode"/> enum, kept out of the other classes. Its
/// definition at run time is the app's Confluent.Kafka, not the version the agent is compiled
/// against, and the runtime throws away the ReadyToRun code of every method that touches it (and
/// of every method of a class with a field of a delegate type over it): measured, the consumer's
/// poll, the producer's after-produce step, the delivery report and the instrumentation's start
/// were JIT-compiled at tier 0 in every process, then again as they tiered up. Here only the
/// close and commit shims and the naming of an error are compiled at run time.
/// </summary>
internal sealed class ErrorCodeShims(ConsumerShims consumer, Delegate close, Delegate commit)
{
    // Typed as Delegate: a field of a delegate type over ErrorCode is enough to lose the class's
    // ReadyToRun code, and with it that of every method that makes or calls one.
    private readonly Delegate _close = close;
    private readonly Delegate _commit = commit;

    /// <summary>librdkafka's error name for a rd_kafka_resp_err_t (Confluent's enum member name).</summary>
    public static string Name(int code) => ((ErrorCode)code).ToString();

    public Delegate CloseShim() => new Func<nint, ErrorCode>(Close);

    public Delegate CommitShim() => new Func<nint, nint, bool, ErrorCode>(Commit);

    private ErrorCode Close(nint rk)
    {
        consumer.End(rk);
        return ((Func<nint, ErrorCode>)_close)(rk);
    }

    private ErrorCode Commit(nint rk, nint offsets, bool async)
    {
        consumer.End(rk);
        return ((Func<nint, nint, bool, ErrorCode>)_commit)(rk, offsets, async);
    }
}
