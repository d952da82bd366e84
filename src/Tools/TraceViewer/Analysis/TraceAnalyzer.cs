using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>Runs every rule over a trace; a rule that fails on odd data costs only its own findings.</summary>
internal static class TraceAnalyzer
{
    public static readonly IReadOnlyList<ITraceRule> Rules =
    [
        new ErrorOriginRule(),
        new CriticalPathRule(),
        new SlowestSpansRule(),
        new NPlusOneRule(),
        new FanOutRule(),
        new TraceGapRule(),
        new UntracedServiceRule(),
    ];

    public static IReadOnlyList<Finding> Analyze(TraceTree trace, AnalysisContext context)
    {
        var findings = new List<Finding>();
        foreach (ITraceRule rule in Rules)
        {
            try
            {
                findings.AddRange(rule.Analyze(trace, context));
            }
            catch (Exception ex)
            {
                findings.Add(Finding.Create(
                    "analysis-failed",
                    FindingSeverity.Info,
                    $"{rule.GetType().Name} failed: {ex.GetType().Name}: {ex.Message}",
                    []));
            }
        }

        return findings;
    }
}
