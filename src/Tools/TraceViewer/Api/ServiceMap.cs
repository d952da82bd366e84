using System.Globalization;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Model;
using TraceAgent.Viewer.Storage;

namespace TraceAgent.Viewer.Api;

/// <summary>
/// Services and what they call, from the traces received: service-to-service calls where a span's
/// parent is in another service (HTTP and other RPC), and calls from a service into something that
/// sends no spans of its own, read from the client span's attributes: a database
/// (db.system.name), Redis, a Kafka topic (producer to topic, topic to consumer), or an HTTP
/// server nothing traced (server.address:port).
/// </summary>
internal sealed class ServiceMap
{
    private readonly Dictionary<string, MapNode> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<(string From, string To, string Protocol), MapEdge> _edges = [];

    public IReadOnlyCollection<MapNode> Nodes => _nodes.Values;

    public IReadOnlyCollection<MapEdge> Edges => _edges.Values;

    public int TraceCount { get; private set; }

    public static ServiceMap Build(IEnumerable<StoredTrace> traces)
    {
        var map = new ServiceMap();
        foreach (StoredTrace trace in traces)
        {
            map.Add(trace.Tree);
        }

        map.MergeUnaddressedDatabases();
        return map;
    }

    /// <summary>
    /// Jaeger's dependency links: for every span whose parent is in another service, one call from
    /// the parent's service to the span's (Kafka included, as Jaeger counts it).
    /// </summary>
    public static IEnumerable<(string Parent, string Child, long Calls)> Dependencies(IEnumerable<StoredTrace> traces) =>
        traces.SelectMany(t => t.Tree.Spans)
            .Where(s => s.Parent is not null && s.Parent.Service != s.Service)
            .GroupBy(s => (Parent: s.Parent!.Service, Child: s.Service))
            .Select(g => (g.Key.Parent, g.Key.Child, (long)g.Count()))
            .OrderBy(d => d.Parent, StringComparer.Ordinal)
            .ThenBy(d => d.Child, StringComparer.Ordinal);

    private void Add(TraceTree tree)
    {
        TraceCount++;
        foreach (SpanNode span in tree.Spans)
        {
            MapNode service = Node(span.Service, span.Service, NodeType.Service);
            service.Spans++;
            service.Errors += span.IsError ? 1 : 0;
            service.Requests += span.Span.Kind is SpanKinds.Server or SpanKinds.Consumer || span.Parent is null ? 1 : 0;

            ReceivedSpan s = span.Span;
            string? messagingSystem = span.Text("messaging.system");
            string? destination = span.Text("messaging.destination.name");
            if (messagingSystem is not null && destination is not null && s.Kind is SpanKinds.Producer or SpanKinds.Consumer)
            {
                MapNode topic = Node($"{messagingSystem}:{destination}", destination, NodeType.Topic, messagingSystem);
                if (s.Kind == SpanKinds.Producer)
                {
                    Edge(service, topic, messagingSystem, span);
                }
                else
                {
                    Edge(topic, service, messagingSystem, span);
                }

                continue;
            }

            if (span.Parent is { } parent && parent.Service != span.Service && !(parent.Span.Kind == SpanKinds.Producer && s.Kind == SpanKinds.Consumer))
            {
                // The client span, when there is one, tells the caller's view of the call (its duration includes the network).
                SpanNode call = parent.Span.Kind == SpanKinds.Client ? parent : span;
                Edge(Node(parent.Service, parent.Service, NodeType.Service), service, Protocol(call), call, extraError: span.IsError);
                continue;
            }

            if (s.Kind != SpanKinds.Client || span.Children.Any(c => c.Service != span.Service))
            {
                continue;
            }

            string? dbSystem = span.Text("db.system.name") ?? span.Text("db.system");
            string? address = span.Text("server.address") ?? span.Text("net.peer.name");
            string? port = span.Text("server.port") ?? span.Text("net.peer.port");
            string endpoint = address is null ? "" : port is null ? address : $"{address}:{port}";
            if (dbSystem is not null)
            {
                // One node per database server: the databases (namespaces) used on it are listed in its detail.
                MapNode db = Node($"db:{dbSystem}:{endpoint}", dbSystem, dbSystem == "redis" ? NodeType.Cache : NodeType.Database, endpoint);
                db.System = dbSystem;
                if ((span.Text("db.namespace") ?? span.Text("db.name")) is { Length: > 0 } database)
                {
                    db.Databases.Add(database);
                }

                Edge(service, db, dbSystem, span);
            }
            else if (span.Has("http.request.method") || span.Has("http.method") || span.Has("url.full"))
            {
                MapNode external = Node($"http:{endpoint}", endpoint.Length > 0 ? endpoint : "unknown host", NodeType.External, "not traced");
                Edge(service, external, "http", span);
            }
        }
    }

    /// <summary>
    /// A call whose span names no server (a failed connect, say) joins the one server of its
    /// system that other calls name, rather than showing as a server of its own.
    /// </summary>
    private void MergeUnaddressedDatabases()
    {
        foreach (MapNode lost in _nodes.Values.Where(n => n.System is not null && n.Detail.Length == 0).ToList())
        {
            MapNode[] named = [.. _nodes.Values.Where(n => n.System == lost.System && n.Detail.Length > 0)];
            if (named.Length != 1)
            {
                continue;
            }

            MapNode target = named[0];
            target.Databases.UnionWith(lost.Databases);
            foreach (MapEdge edge in _edges.Values.Where(e => e.To == lost.Id).ToList())
            {
                _edges.Remove((edge.From, edge.To, edge.Protocol));
                if (!_edges.TryGetValue((edge.From, target.Id, edge.Protocol), out MapEdge? into))
                {
                    _edges[(edge.From, target.Id, edge.Protocol)] = into = new MapEdge(edge.From, target.Id, edge.Protocol);
                }

                into.Calls += edge.Calls;
                into.Errors += edge.Errors;
                into.Durations.AddRange(edge.Durations);
            }

            _nodes.Remove(lost.Id);
        }
    }

    private static string Protocol(SpanNode call) =>
        call.Has("http.request.method") || call.Has("http.method") ? "http"
        : call.Text("rpc.system") is { } rpc ? rpc
        : call.Text("messaging.system") is { } messaging ? messaging
        : "call";

    private MapNode Node(string id, string label, NodeType type, string detail = "")
    {
        if (!_nodes.TryGetValue(id, out MapNode? node))
        {
            _nodes[id] = node = new MapNode(id, label, type, detail);
        }

        return node;
    }

    private void Edge(MapNode from, MapNode to, string protocol, SpanNode call, bool extraError = false)
    {
        if (!_edges.TryGetValue((from.Id, to.Id, protocol), out MapEdge? edge))
        {
            _edges[(from.Id, to.Id, protocol)] = edge = new MapEdge(from.Id, to.Id, protocol);
        }

        edge.Calls++;
        edge.Errors += call.IsError || extraError ? 1 : 0;
        edge.Durations.Add(call.DurationNanos);
    }
}

internal enum NodeType
{
    Service,
    Database,
    Cache,
    Topic,
    External,
}

internal sealed class MapNode(string id, string label, NodeType type, string detail)
{
    public string Id { get; } = id;

    public string Label { get; } = label;

    public NodeType Type { get; } = type;

    public string Detail { get; } = detail;

    /// <summary>The database system of a database or cache node.</summary>
    public string? System { get; set; }

    /// <summary>The databases (namespaces) the calls to a database node named.</summary>
    public SortedSet<string> Databases { get; } = new(StringComparer.Ordinal);

    public long Spans { get; set; }

    public long Errors { get; set; }

    public long Requests { get; set; }

    public string TypeName => Type.ToString().ToLower(CultureInfo.InvariantCulture);
}

internal sealed class MapEdge(string from, string to, string protocol)
{
    public string From { get; } = from;

    public string To { get; } = to;

    public string Protocol { get; } = protocol;

    public long Calls { get; set; }

    public long Errors { get; set; }

    public List<long> Durations { get; } = [];

    public long Percentile(double p)
    {
        if (Durations.Count == 0)
        {
            return 0;
        }

        long[] sorted = [.. Durations.Order()];
        int index = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}
