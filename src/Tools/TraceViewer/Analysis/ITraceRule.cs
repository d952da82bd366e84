using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>One analysis over a finished trace; rules are independent and never throw for odd data.</summary>
internal interface ITraceRule
{
    IEnumerable<Finding> Analyze(TraceTree trace, AnalysisContext context);
}
