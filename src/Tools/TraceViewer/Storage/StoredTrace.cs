using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Model;
using TraceAgent.Viewer.Output;

namespace TraceAgent.Viewer.Storage;

/// <summary>
/// A finished trace as the store keeps it: the tree and findings built from what arrived, and
/// when it was stored (the age bound counts from then).
/// </summary>
internal sealed class StoredTrace
{
    public StoredTrace(ReportedTrace reported, long storedAtUnixNano)
    {
        Reported = reported;
        StoredAtUnixNano = storedAtUnixNano;
        ErrorCount = reported.Tree.Spans.Count(s => s.IsError);
    }

    public ReportedTrace Reported { get; }

    public TraceTree Tree => Reported.Tree;

    public IReadOnlyList<Finding> Findings => Reported.Findings;

    public string TraceId => Reported.Tree.TraceId;

    public long StoredAtUnixNano { get; }

    public int ErrorCount { get; }

    public IEnumerable<ReceivedSpan> Spans => Tree.Spans.Select(s => s.Span);

    public IReadOnlyList<ReceivedLogRecord> Logs => Tree.Logs;
}
