using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Model;

namespace TraceAgent.Viewer.Analysis;

/// <summary>What a span calls out to, as far as its attributes tell.</summary>
internal static class Operation
{
    public static bool IsDatabase(SpanNode span) => span.Has("db.system.name") || span.Has("db.system");

    public static bool IsMessaging(SpanNode span) => span.Has("messaging.system");

    /// <summary>A span that leaves the process: the kinds where N+1 patterns cost round trips.</summary>
    public static bool IsOutgoing(SpanNode span) =>
        span.Span.Kind is SpanKinds.Client or SpanKinds.Producer || IsDatabase(span);

    /// <summary>
    /// The key under which two calls are "the same operation": the query summary or text for a
    /// database call, else the span name with the route or destination.
    /// </summary>
    public static string Key(SpanNode span)
    {
        if (IsDatabase(span))
        {
            string system = span.Text("db.system.name") ?? span.Text("db.system") ?? "db";
            string what = span.Text("db.query.summary") ?? span.Text("db.query.text") ?? span.Text("db.statement")
                ?? Join(span.Text("db.operation.name"), span.Text("db.collection.name")) ?? span.Span.Name;
            return system + ": " + what;
        }

        string? target = span.Text("http.route") ?? span.Text("url.template") ?? span.Text("messaging.destination.name")
            ?? span.Text("rpc.method") ?? Endpoint(span);
        return target is null || span.Span.Name.Contains(target, StringComparison.Ordinal)
            ? span.Span.Name
            : span.Span.Name + " " + target;
    }

    /// <summary>The query, statement or route a key stands for, without the system prefix.</summary>
    public static string Describe(SpanNode span)
    {
        if (IsDatabase(span))
        {
            return span.Text("db.query.summary") ?? span.Text("db.query.text") ?? span.Text("db.statement") ?? span.Span.Name;
        }

        string key = Key(span);
        return key;
    }

    /// <summary>host:port of the peer, from server.address / server.port (or url.full's authority).</summary>
    public static string? Endpoint(SpanNode span)
    {
        string? host = span.Text("server.address") ?? span.Text("net.peer.name");
        string? port = span.Text("server.port") ?? span.Text("net.peer.port");
        if (host is null && span.Text("url.full") is string url && Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
        {
            host = uri.Host;
            port = uri.IsDefaultPort ? null : uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return host is null ? null : port is null ? host : host + ":" + port;
    }

    private static string? Join(string? a, string? b) => a is null ? b : b is null ? a : a + " " + b;
}
