using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using TraceAgent.Configuration;
using TraceAgent.Http;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.AspNetCore;

/// <summary>Sets the stable HTTP server semantic-convention attributes from an HttpContext.</summary>
internal sealed class ServerSpanTagger
{
    // Per-request values that rarely change are boxed or formatted once: the tagger runs on every
    // request, and allocations there are the agent's cost to the app.
    private static readonly object[] BoxedStatusCodes = Enumerable.Range(0, 600).Select(i => (object)i).ToArray();

    // Keyed by the route's own text, a reference type: a tuple key would make the runtime
    // JIT-compile the dictionary's code for it, three times over, in every app's first seconds.
    private readonly ConcurrentDictionary<string, RouteNames> _routes = new(StringComparer.Ordinal);
    private readonly GlobPattern _excludedPaths;
    private HostEntry? _lastHost;
    private ClientEntry? _lastClient;
    private readonly HeaderCapture _requestHeaders;
    private readonly HeaderCapture _responseHeaders;
    private readonly bool _redactQuery;

    public ServerSpanTagger(AspNetCoreSettings settings)
    {
        _excludedPaths = new GlobPattern(settings.ExcludedPaths);
        _requestHeaders = new HeaderCapture("http.request.header.", settings.RequestHeaders);
        _responseHeaders = new HeaderCapture("http.response.header.", settings.ResponseHeaders);
        _redactQuery = settings.RedactQuery;
    }

    /// <summary>True (and the span unsampled) when the request's path is excluded.</summary>
    public bool Exclude(Activity activity, HttpRequest request)
    {
        if (_excludedPaths.IsEmpty || !_excludedPaths.Matches(request.Path.Value))
        {
            return false;
        }

        // No span, and the cleared sampled flag makes the parent-based samplers drop everything
        // under the request too.
        activity.IsAllDataRequested = false;
        activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        return true;
    }

    /// <summary>
    /// The path and query, as the request arrived (middleware may rewrite them), and a first name;
    /// the other attributes are read when the request ends (<see cref="Write"/>).
    /// </summary>
    public void OnStart(Activity activity, HttpContext context)
    {
        var request = context.Request;
        SetPath(activity, request);
        var method = KnownMethod(request.Method);
        activity.DisplayName = method == "_OTHER" ? "HTTP" : method;
    }

    /// <summary>
    /// The other attributes, read from the request and its response when the request ends: set on
    /// the Activity (<see cref="Tag"/>), or written into the span's encoding as it ends (with OTLP
    /// alone, SpanHooks.WriteAttributes).
    /// </summary>
    public void Tag(Activity activity, HttpContext context, string? route)
    {
        var attributes = SpanAttributes.OnActivity(activity);
        Write(context, route, ref attributes);
    }

    /// <summary>The end of a span tagged on its Activity: <see cref="OnStop"/>, then <see cref="Tag"/>.</summary>
    public void End(Activity activity, HttpContext context) => Tag(activity, context, OnStop(activity, context));

    /// <inheritdoc cref="Tag"/>
    /// <param name="context">The request.</param>
    /// <param name="route">The matched route, as <see cref="OnStop"/> returned it.</param>
    /// <param name="attributes">Where the attributes go.</param>
    public void Write(HttpContext context, string? route, ref SpanAttributes attributes)
    {
        var request = context.Request;
        var method = KnownMethod(request.Method);
        attributes.Add("http.request.method", method);
        if (method == "_OTHER")
        {
            attributes.Add("http.request.method_original", request.Method);
        }

        var scheme = request.Scheme;
        attributes.Add("url.scheme", scheme);
        if (HostOf(request, scheme) is { } host)
        {
            attributes.Add("server.address", host.Host);
            attributes.Add("server.port", host.Port);
        }

        attributes.Add("client.address", ClientOf(context)?.Text);
        var userAgent = request.Headers.UserAgent;
        if (userAgent.Count > 0)
        {
            attributes.Add("user_agent.original", userAgent.ToString());
        }

        attributes.Add("network.protocol.version", ProtocolVersion(request.Protocol));
        var status = context.Response.StatusCode;
        attributes.Add("http.response.status_code", status is >= 0 and < 600 ? BoxedStatusCodes[status] : status);
        attributes.Add("http.route", route);
        if (!_requestHeaders.IsEmpty)
        {
            WriteCaptured(_requestHeaders, request.Headers, ref attributes);
        }

        if (!_responseHeaders.IsEmpty)
        {
            WriteCaptured(_responseHeaders, context.Response.Headers, ref attributes);
        }
    }

    private void SetPath(Activity activity, HttpRequest request)
    {
        activity.SetTag("url.path", request.PathBase.HasValue ? request.PathBase.Value + request.Path.Value : request.Path.Value);
        var queryString = request.QueryString;
        if (queryString.HasValue && queryString.Value!.Length > 1)
        {
            SetQuery(activity, queryString.Value);
        }
    }

    private static string KnownMethod(string method) => MethodSlot(method) is >= 0 and < KnownMethodCount ? method : "_OTHER";

    // The Host header's raw text is the cache key: HttpRequest.Host parses that header into a
    // HostString on every call (a search for "xn--", the port's digits), framework code the
    // JIT otherwise never has to compile for a request. It is parsed only when it changes.
    private HostEntry? HostOf(HttpRequest request, string scheme)
    {
        var rawHost = request.Headers.Host.ToString();
        if (rawHost.Length == 0)
        {
            return null;
        }

        var isHttps = IsHttps(scheme);
        var host = _lastHost;
        if (host is null || !string.Equals(host.Raw, rawHost, StringComparison.Ordinal) || host.IsHttps != isHttps)
        {
            host = _lastHost = ParseHost(rawHost, isHttps);
        }

        return host;
    }

    // From the connection feature itself, as HttpContext.Connection reads it: that wrapper's
    // feature cache is a generic instantiation the framework has no precompiled code for, and
    // ASP.NET Core does not touch it on a request unless someone asks.
    private ClientEntry? ClientOf(HttpContext context)
    {
        var remote = context.Features.Get<IHttpConnectionFeature>()?.RemoteIpAddress;
        if (remote is null)
        {
            return null;
        }

        var client = _lastClient;
        if (client is null || !client.Address.Equals(remote))
        {
            client = _lastClient = NewClient(remote);
        }

        return client;
    }

    private RouteNames? RouteOf(HttpContext context)
    {
        var rawRoute = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        return rawRoute is null ? null : _routes.GetOrAdd(rawRoute, static raw => new RouteNames(raw.Length == 0 || raw[0] != '/' ? "/" + raw : raw));
    }

    /// <summary>The error status alone, all a held span's trace is decided on.</summary>
    public static void SetStatus(Activity activity, HttpContext context)
    {
        if (context.Response.StatusCode >= 500)
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    /// <summary>
    /// The name from the matched route, and the error status of a server error. Returns the route
    /// (http.route), for <see cref="Write"/>: the endpoint's lookup is made once a request.
    /// </summary>
    public string? OnStop(Activity activity, HttpContext context)
    {
        var names = RouteOf(context);
        if (names is not null)
        {
            activity.DisplayName = names.NameFor(KnownMethod(context.Request.Method));
        }

        var status = context.Response.StatusCode;
        if (status >= 500)
        {
            SetServerError(activity, status);
        }

        return names?.Route;
    }

    // The paths below are taken by few requests or only when a value changes: out of line, so that
    // the per-request methods stay small when the JIT compiles them again as they get hot.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SetQuery(Activity activity, string queryString)
    {
        var query = queryString[1..];
        activity.SetTag("url.query", _redactQuery ? UrlRedaction.RedactQuery(query) : query);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteCaptured(HeaderCapture capture, IHeaderDictionary headers, ref SpanAttributes attributes)
    {
        foreach (var (header, attribute) in capture.Headers)
        {
            if (headers.TryGetValue(header, out var values))
            {
                attributes.Add(attribute, values.ToArray());
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SetServerError(Activity activity, int status)
    {
        activity.SetStatus(ActivityStatusCode.Error);
        if (activity.GetTagItem("error.type") is null)
        {
            activity.SetTag("error.type", status.ToString(CultureInfo.InvariantCulture));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static HostEntry ParseHost(string rawHost, bool isHttps)
    {
        var parsed = HostString.FromUriComponent(rawHost);
        return new HostEntry(rawHost, isHttps, parsed.Host, parsed.Port ?? (isHttps ? 443 : 80));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ClientEntry NewClient(IPAddress remote) =>
        new(remote, (remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote).ToString());

    public static void OnException(Activity activity, Exception exception)
    {
        if (activity.GetTagItem("error.type") is not null)
        {
            return;
        }

        activity.SetTag("error.type", exception.GetType().FullName);
        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        ExceptionEvents.Record(activity, exception);
    }

    /// <summary>A route's normalised text and its span name for each method, made once.</summary>
    private sealed class RouteNames(string route)
    {
        private readonly string?[] _names = new string?[KnownMethodCount + 1];

        public string Route { get; } = route;

        public string NameFor(string method)
        {
            var slot = MethodSlot(method);
            if (slot < 0)
            {
                return method + " " + Route;
            }

            // Two threads may both make a name the first time: equal strings, either one is kept.
            return _names[slot] ??= (method == "_OTHER" ? "HTTP" : method) + " " + Route;
        }
    }

    private const int KnownMethodCount = 10;

    /// <summary>The HTTP methods the conventions know (0 to 9), "_OTHER" (10), or -1.</summary>
    /// <remarks>
    /// Kestrel gives the common methods as its own constants, the same interned strings as these
    /// literals: a reference check settles them without comparing text, and the full comparison
    /// stays out of line, so the taggers' hot methods stay small when the JIT compiles them again.
    /// </remarks>
    private static int MethodSlot(string method) =>
        ReferenceEquals(method, "GET") ? 0 : ReferenceEquals(method, "POST") ? 1 : AnyMethodSlot(method);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int AnyMethodSlot(string method) => method switch
    {
        "GET" => 0,
        "POST" => 1,
        "PUT" => 2,
        "DELETE" => 3,
        "HEAD" => 4,
        "OPTIONS" => 5,
        "PATCH" => 6,
        "TRACE" => 7,
        "CONNECT" => 8,
        "QUERY" => 9,
        "_OTHER" => KnownMethodCount,
        _ => -1,
    };

    /// <summary>
    /// HttpRequest.IsHttps without its case-insensitive comparison on every request: servers set the
    /// scheme in lower case, so the exact texts decide and only another spelling is compared
    /// ignoring case.
    /// </summary>
    private static bool IsHttps(string scheme) =>
        scheme == "https" || (scheme != "http" && string.Equals(scheme, "https", StringComparison.OrdinalIgnoreCase));

    private sealed record HostEntry(string Raw, bool IsHttps, string Host, object Port);

    private sealed record ClientEntry(IPAddress Address, string Text);

    private static string ProtocolVersion(string protocol) =>
        ReferenceEquals(protocol, "HTTP/1.1") ? "1.1" : AnyProtocolVersion(protocol);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string AnyProtocolVersion(string protocol) => protocol switch
    {
        "HTTP/1.1" => "1.1",
        "HTTP/2" => "2",
        "HTTP/3" => "3",
        "HTTP/1.0" => "1.0",
        _ => protocol.StartsWith("HTTP/", StringComparison.Ordinal) ? protocol[5..] : protocol,
    };
}
