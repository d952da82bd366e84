using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>
/// Finds where each error started. An error span with an error somewhere below it is taken to be
/// explained by that error (a 500 because the database call under it failed); an error span with
/// no error below it is an origin. Each origin is reported with the chain of error spans it
/// propagated through, up to the outermost one.
/// </summary>
internal sealed class ErrorOriginRule : ITraceRule
{
    public const string Id = "error-origin";

    public IEnumerable<Finding> Analyze(TraceTree trace, AnalysisContext context)
    {
        var hasErrorBelow = new Dictionary<SpanNode, bool>();
        foreach (SpanNode top in trace.TopLevel)
        {
            Mark(top, hasErrorBelow);
        }

        foreach (SpanNode span in trace.Spans)
        {
            if (!span.IsError || hasErrorBelow.GetValueOrDefault(span))
            {
                continue;
            }

            // The error spans above the origin, nearest first: how far the failure travelled.
            var chain = new List<SpanNode>();
            for (SpanNode? up = span.Parent; up is not null; up = up.Parent)
            {
                if (up.IsError)
                {
                    chain.Add(up);
                }
            }

            string reason = Reason(span);
            string message = $"error started in {span.Label}" + (reason.Length > 0 ? ": " + reason : "")
                + (chain.Count > 0 ? $"; it propagated through {Format.Count(chain.Count)} span(s) up to {chain[^1].Label}" : "");
            yield return Finding.Create(
                Id,
                FindingSeverity.Error,
                message,
                [span.SpanId, .. chain.Select(c => c.SpanId)],
                ("service", span.Service),
                ("span", span.Span.Name),
                ("reason", reason.Length > 0 ? reason : null),
                ("errorType", span.Text("error.type")),
                ("outermost", chain.Count > 0 ? chain[^1].Label : span.Label));
        }
    }

    /// <summary>The best short explanation the span carries: exception, status message, HTTP status, error.type.</summary>
    internal static string Reason(SpanNode span)
    {
        string? exceptionText = null;
        if (span.Span.Events.FirstOrDefault(e => e.Name == "exception") is { } exception)
        {
            exception.Attributes.TryGetValue("exception.type", out object? type);
            exception.Attributes.TryGetValue("exception.message", out object? text);
            string? shortType = type is string t ? t[(t.LastIndexOf('.') + 1)..] : null;
            string? firstLine = text is string m ? m.Split('\n', 2)[0].Trim() : null;
            exceptionText = (shortType, firstLine) switch
            {
                (string t2, { Length: > 0 } m2) => t2 + ": " + m2,
                (string t2, _) => t2,
                (_, { Length: > 0 } m2) => m2,
                _ => null,
            };
        }

        string? status = span.Span.StatusMessage.Length > 0 ? span.Span.StatusMessage : null;
        string? errorType = span.Text("error.type");
        string? httpStatus = span.Text("http.response.status_code");
        string best = exceptionText ?? status ?? (httpStatus is not null ? "HTTP " + httpStatus : null) ?? errorType ?? "";
        return best.ReplaceLineEndings(" ");
    }

    private static bool Mark(SpanNode span, Dictionary<SpanNode, bool> hasErrorBelow)
    {
        bool below = false;
        foreach (SpanNode child in span.Children)
        {
            below |= Mark(child, hasErrorBelow) || child.IsError;
        }

        hasErrorBelow[span] = below;
        return below;
    }
}
