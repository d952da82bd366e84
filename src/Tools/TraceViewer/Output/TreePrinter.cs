using System.Globalization;
using System.Text;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Output;

/// <summary>
/// Writes a finished trace as an indented tree with a small waterfall, then its findings. Colour
/// only when asked (a terminal); the markers (✗ for errors, █ for the critical path) carry the
/// same information without it.
/// </summary>
internal sealed class TreePrinter
{
    private const int BarWidth = 24;
    private const int MaxLogBody = 160;

    // Attributes worth a place on the span's line, in this order; values already in the span
    // name are not repeated.
    private static readonly string[] KeyAttributes =
    [
        "http.route", "http.response.status_code", "db.system.name", "db.query.summary", "db.operation.name",
        "messaging.system", "messaging.destination.name", "messaging.operation.type", "error.type",
    ];

    private static readonly string[] ServiceColors = ["36", "35", "34", "32", "33", "96", "95", "94"];

    private readonly TextWriter _out;
    private readonly bool _color;

    public TreePrinter(TextWriter output, bool color)
    {
        _out = output;
        _color = color;
    }

    public void Print(TraceTree trace, IReadOnlyList<Finding> findings, int lateSpans = 0)
    {
        var text = new StringBuilder();
        HashSet<string> critical = [.. findings.Where(f => f.Rule == CriticalPathRule.Id).SelectMany(f => f.SpanIds)];
        HashSet<string> origins = [.. findings.Where(f => f.Rule == ErrorOriginRule.Id).Select(f => f.SpanIds[0])];

        SpanNode? main = trace.Main;
        string title = main is null ? "(no spans)" : main.Label;
        int errors = trace.Spans.Count(s => s.IsError);
        text.Append('\n');
        text.Append(Paint("1", $"━━ trace {trace.TraceId}  {title}")).Append("  ");
        text.Append(CultureInfo.InvariantCulture, $"{trace.Spans.Count} spans, {trace.Services.Count} services, {Format.Duration(trace.DurationNanos)}");
        if (errors > 0)
        {
            text.Append(", ").Append(Paint("31;1", $"✗ {errors} error span(s)"));
        }

        if (lateSpans > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"  (shown again: {lateSpans} span(s) arrived late)");
        }

        text.Append('\n');

        foreach (SpanNode top in trace.TopLevel)
        {
            bool orphan = top.Span.ParentSpanId.Length > 0;
            if (orphan)
            {
                text.Append(Paint("33", $"  ⋯ parent {top.Span.ParentSpanId} missing (trace gap)")).Append('\n');
            }

            AppendSpan(text, trace, top, "", "", critical, origins);
        }

        foreach (ReceivedLogRecord log in trace.Logs.Where(l => trace.Find(l.SpanId) is null))
        {
            text.Append(new string(' ', BarWidth + 14)).Append(LogText(log)).Append('\n');
        }

        if (findings.Count > 0)
        {
            text.Append("  ").Append(Paint("1", "analysis")).Append('\n');
            foreach (Finding finding in findings)
            {
                (string marker, string color) = finding.Severity switch
                {
                    FindingSeverity.Error => ("✗", "31;1"),
                    FindingSeverity.Warning => ("!", "33;1"),
                    _ => ("·", "2"),
                };
                text.Append("  ").Append(Paint(color, marker)).Append(' ');
                text.Append(Paint("1", RuleTitle(finding.Rule).PadRight(17))).Append(finding.Message).Append('\n');
            }
        }

        lock (_out)
        {
            _out.Write(text.ToString());
            _out.Flush();
        }
    }

    private void AppendSpan(
        StringBuilder text,
        TraceTree trace,
        SpanNode span,
        string prefix,
        string childPrefix,
        HashSet<string> critical,
        HashSet<string> origins)
    {
        // Explicit stack instead of recursion: one line per span, children in start order.
        var stack = new Stack<(SpanNode Span, string Prefix, string ChildPrefix)>();
        stack.Push((span, prefix, childPrefix));
        while (stack.Count > 0)
        {
            (SpanNode node, string linePrefix, string nextPrefix) = stack.Pop();
            bool onPath = critical.Contains(node.SpanId);
            text.Append(' ').Append(Bar(trace, node, onPath)).Append(' ');
            text.Append(Format.Duration(node.DurationNanos).PadLeft(9)).Append("  ");
            text.Append(Paint("2", linePrefix));
            if (node.IsError)
            {
                text.Append(Paint("31;1", "✗ "));
            }

            text.Append(Paint(ServiceColor(node.Service), node.Service)).Append(' ');
            text.Append(node.IsError ? Paint("31;1", node.Span.Name) : Paint("1", node.Span.Name));
            text.Append(' ').Append(Paint("2", $"({node.Span.KindName})"));
            string attributes = Attributes(node);
            if (attributes.Length > 0)
            {
                text.Append("  ").Append(Paint("2", attributes));
            }

            if (node.IsError)
            {
                string reason = ErrorOriginRule.Reason(node);
                string where = origins.Contains(node.SpanId) ? "error starts here" : "error";
                text.Append("  ").Append(Paint("31", reason.Length > 0 ? $"← {where}: {Truncate(reason, 120)}" : $"← {where}"));
            }

            text.Append('\n');

            string logIndent = new string(' ', BarWidth + 14) + nextPrefix + (node.Children.Count > 0 ? "│ " : "  ");
            foreach (ReceivedLogRecord log in node.Logs)
            {
                text.Append(Paint("2", logIndent)).Append(LogText(log)).Append('\n');
            }

            for (int i = node.Children.Count - 1; i >= 0; i--)
            {
                bool last = i == node.Children.Count - 1;
                stack.Push((node.Children[i], nextPrefix + (last ? "└─ " : "├─ "), nextPrefix + (last ? "   " : "│  ")));
            }
        }
    }

    private string Bar(TraceTree trace, SpanNode span, bool onPath)
    {
        long total = Math.Max(1, trace.DurationNanos);
        int from = (int)Math.Clamp((span.Start - trace.Start) * BarWidth / total, 0, BarWidth - 1);
        int to = (int)Math.Clamp((span.End - trace.Start) * BarWidth / total, from + 1, BarWidth);
        string fill = new(onPath ? '█' : '▒', to - from);
        string bar = new string(' ', from) + fill + new string(' ', BarWidth - to);
        string color = span.IsError ? "31" : onPath ? "33" : "2";
        return "▕" + Paint(color, bar) + "▏";
    }

    private static string Attributes(SpanNode span)
    {
        var parts = new List<string>();
        if (span.Span.Kind == SpanKinds.Client && Operation.Endpoint(span) is string endpoint && !span.Span.Name.Contains(endpoint, StringComparison.Ordinal))
        {
            parts.Add("→ " + endpoint);
        }

        foreach (string key in KeyAttributes)
        {
            string? value = span.Text(key);
            if (value is null || value.Length == 0 || span.Span.Name.Contains(value, StringComparison.Ordinal))
            {
                continue;
            }

            if (key == "db.operation.name" && span.Has("db.query.summary"))
            {
                continue;
            }

            // The error's reason follows on the same line and already says what error.type says.
            if (key == "error.type" && span.IsError && ErrorOriginRule.Reason(span).Length > 0)
            {
                continue;
            }

            parts.Add(ShortKey(key) + "=" + Truncate(value, 80));
        }

        return string.Join(' ', parts);
    }

    private static string ShortKey(string key) => key switch
    {
        "http.response.status_code" => "status",
        "db.system.name" => "db",
        "db.query.summary" => "query",
        "db.operation.name" => "operation",
        "messaging.destination.name" => "destination",
        "messaging.operation.type" => "operation",
        "messaging.system" => "messaging",
        "http.route" => "route",
        _ => key,
    };

    private string LogText(ReceivedLogRecord log)
    {
        string severity = log.SeverityText.Length > 0 ? log.SeverityText : "log";
        string body = LogMessage.Render(log);
        string color = log.SeverityNumber >= 17 ? "31" : log.SeverityNumber >= 13 ? "33" : "2";
        return Paint(color, $"▪ {severity}: {Truncate(body.ReplaceLineEndings(" "), MaxLogBody)}");
    }

    private static string RuleTitle(string rule) => rule switch
    {
        ErrorOriginRule.Id => "error origin",
        CriticalPathRule.Id => "critical path",
        SlowestSpansRule.Id => "slowest span",
        NPlusOneRule.Id => "N+1 queries",
        FanOutRule.Id => "fan-out",
        TraceGapRule.Id => "trace gap",
        UntracedServiceRule.Id => "untraced service",
        _ => rule,
    };

    private static string ServiceColor(string service)
    {
        // A stable colour per service name (string.GetHashCode is randomised per process).
        uint hash = 2166136261;
        foreach (char c in service)
        {
            hash = (hash ^ c) * 16777619;
        }

        return ServiceColors[hash % (uint)ServiceColors.Length];
    }

    private string Paint(string sgr, string text) => _color && text.Length > 0 ? $"\u001b[{sgr}m{text}\u001b[0m" : text;

    private static string Truncate(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");
}
