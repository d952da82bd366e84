namespace TraceAgent.Viewer.Metrics;

/// <summary>What the metrics page shows for one window: the routes of each service that served requests in it.</summary>
internal sealed record RouteMetricsReport(
    long FromUnixNano,
    long ToUnixNano,
    IReadOnlyList<RouteMetrics> Routes,
    int Series,
    long DroppedSeries);

/// <summary>One route (http.route and method) of one service over the window, summed over its instances, status codes and error types.</summary>
internal sealed record RouteMetrics(
    string Service,
    string Route,
    string Method,
    ulong Requests,
    ulong Errors,
    double? P50Seconds,
    double? P95Seconds,
    double? P99Seconds,
    IReadOnlyList<Exemplar> Exemplars);

/// <summary>A measurement the app recorded inside a sampled span: the way from a number to a trace.</summary>
internal sealed record Exemplar(string TraceId, string SpanId, double Seconds, long TimeUnixNano, long StatusCode, bool Error);
