using System.Globalization;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Api;
using TraceAgent.Viewer.Metrics;
using TraceAgent.Viewer.Query;
using TraceAgent.Viewer.Storage;

namespace TraceAgent.Viewer.Web;

/// <summary>
/// The web UI and the query APIs on one loopback port: Jaeger's JSON API under /api/ (services,
/// operations, trace search, one trace, dependencies), the pages' own JSON under /viewer-api/,
/// the pages' files under /static/, and the page itself for every page path (/search, /trace/ID,
/// /map, /metrics), which the page's script routes.
/// </summary>
internal sealed class ViewerWebServer : IAsyncDisposable
{
    /// <summary>Paths the single page answers; a new page (metrics, say) adds its path here and a view in app.js.</summary>
    public static readonly string[] PagePaths = ["/", "/search", "/trace/{traceId}", "/map", "/metrics"];

    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions Pretty = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    private readonly WebApplication _app;

    private ViewerWebServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public string TraceUrl(string traceId) => $"{Url}/trace/{traceId}";

    /// <exception cref="IOException">The port is taken.</exception>
    public static async Task<ViewerWebServer> StartAsync(int port, TraceStore store, RouteMetricsStore metrics, Func<OtlpReceiver?> receiver, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, HostLifetime>();
        Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? listen = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port, options => listen = options);
        });

        WebApplication app = builder.Build();
        var api = new Handlers(store, metrics, receiver, time);
        app.MapGet("/api/services", api.Services);
        app.MapGet("/api/services/{service}/operations", api.OperationsLegacy);
        app.MapGet("/api/operations", api.Operations);
        app.MapGet("/api/traces", api.SearchJaeger);
        app.MapGet("/api/traces/{traceId}", api.TraceJaeger);
        app.MapGet("/api/dependencies", api.Dependencies);
        app.MapGet("/viewer-api/status", api.Status);
        app.MapGet("/viewer-api/search", api.Search);
        app.MapGet("/viewer-api/traces/{traceId}", api.Trace);
        app.MapGet("/viewer-api/service-map", api.Map);
        app.MapGet("/viewer-api/metrics", api.Metrics);
        app.MapGet("/static/{name}", ServeAsset);
        foreach (string path in PagePaths)
        {
            app.MapGet(path, (HttpContext context) => ServeAsset(context, "index.html"));
        }

        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new ViewerWebServer(app, listen!.IPEndPoint!.Port);
    }

    public async ValueTask DisposeAsync()
    {
        using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try
            {
                await _app.StopAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Open keep-alive connections are cut when the grace period ends.
            }
        }

        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static Task ServeAsset(HttpContext context, string name)
    {
        if (WebAssets.Instance.Find(name) is not { } asset)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        context.Response.Headers.ETag = asset.ETag;
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Content-Type-Options"] = "nosniff";
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        context.Response.ContentType = asset.ContentType;
        context.Response.ContentLength = asset.Bytes.Length;
        return context.Response.Body.WriteAsync(asset.Bytes).AsTask();
    }

    internal static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        string pretty = context.Request.Query["prettyPrint"].ToString();
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, pretty.Length > 0 && pretty != "false" ? Pretty : Compact))
        {
            write(json);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length)).ConfigureAwait(false);
    }

    private sealed class Handlers(TraceStore store, RouteMetricsStore metrics, Func<OtlpReceiver?> receiver, TimeProvider time)
    {
        public Task Services(HttpContext context)
        {
            IReadOnlyList<string> services = store.Services();
            return WriteJsonAsync(context, 200, json => JaegerJson.WriteEnvelope(json, data => WriteStrings(data, services), services.Count));
        }

        public Task OperationsLegacy(HttpContext context, string service)
        {
            string[] names = [.. store.Operations(service).Select(o => o.Name).Distinct(StringComparer.Ordinal)];
            return WriteJsonAsync(context, 200, json => JaegerJson.WriteEnvelope(json, data => WriteStrings(data, names), names.Length));
        }

        public Task Operations(HttpContext context)
        {
            string service = context.Request.Query["service"].ToString();
            if (service.Length == 0)
            {
                return Error(context, 400, "parameter 'service' is required");
            }

            string kindText = context.Request.Query["spanKind"].ToString();
            int? kind = kindText.Length == 0 ? null : KindNumber(kindText);
            if (kindText.Length > 0 && kind is null)
            {
                return Error(context, 400, $"unable to parse param 'spanKind': unsupported span kind: '{kindText}'");
            }

            IReadOnlyList<(string Name, int Kind)> operations = store.Operations(service, kind);
            return WriteJsonAsync(context, 200, json => JaegerJson.WriteEnvelope(
                json,
                data =>
                {
                    data.WriteStartArray();
                    foreach ((string name, int spanKind) in operations)
                    {
                        data.WriteStartObject();
                        data.WriteString("name", name);
                        data.WriteString("spanKind", spanKind == SpanKinds.Unspecified ? "" : SpanKinds.ToName(spanKind));
                        data.WriteEndObject();
                    }

                    data.WriteEndArray();
                },
                operations.Count));
        }

        public Task SearchJaeger(HttpContext context)
        {
            if (!TryParse(context, QueryParser.JaegerDefaultLimit, out TraceQuery? query, out string error))
            {
                return Error(context, 400, error);
            }

            SearchResult result = store.Search(query);
            return WriteJsonAsync(context, 200, json => JaegerJson.WriteEnvelope(json, data =>
            {
                data.WriteStartArray();
                foreach (StoredTrace trace in result.Traces)
                {
                    JaegerJson.WriteTrace(data, trace.Tree);
                }

                data.WriteEndArray();
            }));
        }

        public Task TraceJaeger(HttpContext context, string traceId)
        {
            if (NormalizeTraceId(traceId) is not string id)
            {
                return Error(context, 400, $"cannot parse traceID '{traceId}': it must be 1 to 32 hex digits");
            }

            if (store.Get(id) is not StoredTrace trace)
            {
                return Error(context, 404, "trace not found");
            }

            return WriteJsonAsync(context, 200, json => JaegerJson.WriteEnvelope(json, data =>
            {
                data.WriteStartArray();
                JaegerJson.WriteTrace(data, trace.Tree);
                data.WriteEndArray();
            }));
        }

        public Task Dependencies(HttpContext context)
        {
            long endMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            long lookbackMs = 24 * 3600 * 1000;
            string endText = context.Request.Query["endTs"].ToString();
            string lookbackText = context.Request.Query["lookback"].ToString();
            if (endText.Length > 0 && !long.TryParse(endText, NumberStyles.Integer, CultureInfo.InvariantCulture, out endMs))
            {
                return Error(context, 400, $"unable to parse param 'endTs': strconv.ParseInt: parsing \"{endText}\": invalid syntax");
            }

            if (lookbackText.Length > 0 && !long.TryParse(lookbackText, NumberStyles.Integer, CultureInfo.InvariantCulture, out lookbackMs))
            {
                return Error(context, 400, $"unable to parse param 'lookback': strconv.ParseInt: parsing \"{lookbackText}\": invalid syntax");
            }

            long from = (endMs - lookbackMs) * 1_000_000;
            long to = endMs * 1_000_000;
            var links = ServiceMap.Dependencies(store.NewestFirst().Where(t => t.Tree.Start >= from && t.Tree.Start <= to)).ToList();
            string service = context.Request.Query["service"].ToString();
            if (service.Length > 0)
            {
                links = [.. links.Where(l => l.Parent == service || l.Child == service)];
            }

            return WriteJsonAsync(context, 200, json => JaegerJson.WriteEnvelope(json, data =>
            {
                data.WriteStartArray();
                foreach ((string parent, string child, long calls) in links)
                {
                    data.WriteStartObject();
                    data.WriteString("parent", parent);
                    data.WriteString("child", child);
                    data.WriteNumber("callCount", calls);
                    data.WriteEndObject();
                }

                data.WriteEndArray();
            }));
        }

        public Task Status(HttpContext context)
        {
            OtlpReceiver? otlp = receiver();
            IReadOnlyList<StoredTrace> all = store.NewestFirst();
            return WriteJsonAsync(context, 200, json =>
            {
                json.WriteStartObject();
                json.WriteNumber("traces", all.Count);
                json.WriteNumber("dropped", store.Dropped);
                json.WriteNumber("maxTraces", store.MaxTraces);
                json.WriteNumber("maxAgeSeconds", (long)store.MaxAge.TotalSeconds);
                json.WriteString("storage", store.DatabasePath ?? "memory");
                json.WriteNumber("version", store.Version);
                json.WriteNumber("services", store.Services().Count);
                json.WriteString("otlpHttp", otlp?.HttpEndpoint ?? "");
                json.WriteString("otlpGrpc", otlp?.GrpcEndpoint ?? "");
                if (all.Count > 0)
                {
                    json.WriteNumber("newestStartUnixMs", all[0].Tree.Start / 1e6);
                    json.WriteNumber("oldestStartUnixMs", all[^1].Tree.Start / 1e6);
                }

                json.WriteEndObject();
            });
        }

        public Task Search(HttpContext context)
        {
            if (!TryParse(context, 20, out TraceQuery? query, out string error))
            {
                return Error(context, 400, error);
            }

            TraceOrder order = context.Request.Query["sort"].ToString() switch
            {
                "oldest" => TraceOrder.Oldest,
                "longest" => TraceOrder.Longest,
                "shortest" => TraceOrder.Shortest,
                "most-spans" => TraceOrder.MostSpans,
                _ => TraceOrder.Newest,
            };
            SearchResult result = store.Search(query, order);
            return WriteJsonAsync(context, 200, json =>
            {
                json.WriteStartObject();
                json.WriteNumber("matched", result.Matched);
                json.WriteNumber("searched", result.Searched);
                json.WriteNumber("limit", query.Limit);
                json.WriteStartArray("traces");
                foreach (StoredTrace trace in result.Traces)
                {
                    ViewerJson.WriteSummary(json, trace);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            });
        }

        public Task Trace(HttpContext context, string traceId)
        {
            if (NormalizeTraceId(traceId) is not string id || store.Get(id) is not StoredTrace trace)
            {
                return WriteJsonAsync(context, 404, json =>
                {
                    json.WriteStartObject();
                    json.WriteString("error", $"no trace {traceId} in the store (it may have been dropped: the store keeps {store.MaxTraces} traces for {Analysis.Format.Age(store.MaxAge)})");
                    json.WriteEndObject();
                });
            }

            return WriteJsonAsync(context, 200, json => ViewerJson.WriteTrace(json, trace, linked => store.Get(linked) is not null));
        }

        public Task Map(HttpContext context)
        {
            string lookback = context.Request.Query["lookback"].ToString();
            long? from = null;
            if (lookback.Length > 0 && lookback != "all")
            {
                if (QueryParser.LookbackNanos(lookback) is not long nanos)
                {
                    return Error(context, 400, $"unable to parse param 'lookback': invalid duration \"{lookback}\"");
                }

                from = QueryParser.UnixNano(time.GetUtcNow()) - nanos;
            }

            IReadOnlyList<StoredTrace> traces = store.NewestFirst();
            ServiceMap map = ServiceMap.Build(from is long start ? traces.Where(t => t.Tree.Start >= start) : traces);
            return WriteJsonAsync(context, 200, json =>
            {
                json.WriteStartObject();
                json.WriteNumber("traceCount", map.TraceCount);
                json.WriteStartArray("nodes");
                foreach (MapNode node in map.Nodes.OrderBy(n => n.Type).ThenBy(n => n.Label, StringComparer.Ordinal))
                {
                    json.WriteStartObject();
                    json.WriteString("id", node.Id);
                    json.WriteString("label", node.Label);
                    json.WriteString("type", node.TypeName);
                    json.WriteString("detail", node.Detail);
                    json.WriteStartArray("databases");
                    foreach (string database in node.Databases)
                    {
                        json.WriteStringValue(database);
                    }

                    json.WriteEndArray();
                    json.WriteNumber("spans", node.Spans);
                    json.WriteNumber("errors", node.Errors);
                    json.WriteNumber("requests", node.Requests);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteStartArray("edges");
                foreach (MapEdge edge in map.Edges.OrderBy(e => e.From, StringComparer.Ordinal).ThenBy(e => e.To, StringComparer.Ordinal))
                {
                    json.WriteStartObject();
                    json.WriteString("from", edge.From);
                    json.WriteString("to", edge.To);
                    json.WriteString("protocol", edge.Protocol);
                    json.WriteNumber("calls", edge.Calls);
                    json.WriteNumber("errors", edge.Errors);
                    json.WriteNumber("p50Us", edge.Percentile(50) / 1e3);
                    json.WriteNumber("p95Us", edge.Percentile(95) / 1e3);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            });
        }

        public Task Metrics(HttpContext context)
        {
            string window = context.Request.Query["window"].ToString();
            window = window.Length == 0 ? "5m" : window;
            if (QueryParser.LookbackNanos(window) is not long nanos || nanos <= 0 || nanos > RouteMetricsStore.Retention.Ticks * 100)
            {
                return Error(context, 400, $"unable to parse param 'window': \"{window}\" is not a duration from 1s to {Analysis.Format.Age(RouteMetricsStore.Retention)} (the metrics are kept that long)");
            }

            RouteMetricsReport report = metrics.Query(TimeSpan.FromTicks(nanos / 100));
            return WriteJsonAsync(context, 200, json => MetricsJson.Write(json, window, report, id => store.Get(id) is not null));
        }

        private bool TryParse(HttpContext context, int defaultLimit, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TraceQuery? query, out string error)
        {
            try
            {
                query = QueryParser.Parse(context.Request.Query, defaultLimit, time.GetUtcNow());
                error = "";
                return true;
            }
            catch (QueryException ex)
            {
                error = ex.Message;
                query = null;
                return false;
            }
        }

        private static Task Error(HttpContext context, int status, string message) =>
            WriteJsonAsync(context, status, json => JaegerJson.WriteError(json, status, message));

        private static void WriteStrings(Utf8JsonWriter json, IEnumerable<string> values)
        {
            json.WriteStartArray();
            foreach (string value in values)
            {
                json.WriteStringValue(value);
            }

            json.WriteEndArray();
        }

        private static int? KindNumber(string name) => name switch
        {
            "unspecified" => SpanKinds.Unspecified,
            "internal" => SpanKinds.Internal,
            "server" => SpanKinds.Server,
            "client" => SpanKinds.Client,
            "producer" => SpanKinds.Producer,
            "consumer" => SpanKinds.Consumer,
            _ => null,
        };

        /// <summary>32 lower-case hex digits; Jaeger drops leading zeros of a 64-bit id, so shorter ids are padded back.</summary>
        private static string? NormalizeTraceId(string text) =>
            text.Length is > 0 and <= 32 && text.All(char.IsAsciiHexDigit) ? text.ToLowerInvariant().PadLeft(32, '0') : null;
    }
}
