using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http;
using TraceAgent.Http;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.HttpClient;

/// <summary>
/// Completes HttpClient spans on runtimes whose HttpClient does less than .NET 10's, so a span looks
/// the same whichever runtime made it. .NET 8 makes the span (from the "System.Net.Http"
/// ActivitySource) but tags nothing: the agent sets the stable attributes, names and status rules.
/// .NET 9 tags the span but records no exception event and leaves a cancelled request (a timeout
/// included) without error.type and status: the agent adds both, as .NET 10 does itself.
/// </summary>
internal sealed class ClientSpanTagger(bool redactQuery)
{
    private static readonly object[] BoxedStatusCodes = Enumerable.Range(0, 600).Select(i => (object)i).ToArray();
    private static readonly string[] StatusTexts = Enumerable.Range(0, 600).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>The runtime tags its own client spans from .NET 9 on.</summary>
    public static bool RuntimeTagsClientSpans => Environment.Version.Major >= 9;

    /// <summary>From .NET 10 on the runtime records failures (exception event, cancellation) itself.</summary>
    public static bool RuntimeRecordsFailures => Environment.Version.Major >= 10;

    public void OnStart(Activity activity, HttpRequestMessage request)
    {
        var method = KnownMethod(request.Method.Method);
        activity.SetTag("http.request.method", method ?? "_OTHER");
        if (method is null)
        {
            activity.SetTag("http.request.method_original", request.Method.Method);
        }

        activity.DisplayName = method ?? "HTTP";
        if (request.RequestUri is { IsAbsoluteUri: true } uri)
        {
            activity.SetTag("server.address", uri.Host);
            activity.SetTag("server.port", BoxedPort(uri.Port));
            activity.SetTag("url.full", redactQuery ? UrlRedaction.HiddenQuery(uri) : UrlRedaction.RedactUrl(uri.AbsoluteUri, redactQuery: false));
        }
    }

    /// <summary>The response's attributes; .NET 8 only.</summary>
    public static void OnResponse(Activity activity, HttpResponseMessage? response)
    {
        if (response is not null)
        {
            var status = (int)response.StatusCode;
            activity.SetTag("http.response.status_code", status is >= 0 and < 600 ? BoxedStatusCodes[status] : status);
            activity.SetTag("network.protocol.version", ProtocolVersion(response.Version));
            if (status >= 400)
            {
                activity.SetTag("error.type", status is >= 0 and < 600 ? StatusTexts[status] : status.ToString(CultureInfo.InvariantCulture));
                activity.SetStatus(ActivityStatusCode.Error);
            }
        }
    }

    /// <summary>
    /// A cancelled request (a timeout included): .NET 8 and 9 write no exception event for it and
    /// keep no exception to record, so the span gets the error type and status .NET 10 gives it.
    /// </summary>
    public static void OnCancelled(Activity activity)
    {
        if (activity.GetTagItem("error.type") is null)
        {
            activity.SetTag("error.type", typeof(TaskCanceledException).FullName);
        }

        activity.SetStatus(ActivityStatusCode.Error);
    }

    /// <summary>A failed request on .NET 8 and 9: the exception event, and on .NET 8 the error type.</summary>
    public static void OnException(Activity activity, Exception exception)
    {
        if (activity.GetTagItem("error.type") is null)
        {
            activity.SetTag("error.type", ErrorType(exception));
        }

        activity.SetStatus(ActivityStatusCode.Error);
        ExceptionEvents.Record(activity, exception);
    }

    private static string ErrorType(Exception exception) => exception is HttpRequestException request
        ? request.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "name_resolution_error",
            HttpRequestError.ConnectionError => "connection_error",
            HttpRequestError.SecureConnectionError => "secure_connection_error",
            HttpRequestError.HttpProtocolError => "http_protocol_error",
            HttpRequestError.ExtendedConnectNotSupported => "extended_connect_not_supported",
            HttpRequestError.VersionNegotiationError => "version_negotiation_error",
            HttpRequestError.UserAuthenticationError => "user_authentication_error",
            HttpRequestError.ProxyTunnelError => "proxy_tunnel_error",
            HttpRequestError.InvalidResponse => "invalid_response",
            HttpRequestError.ResponseEnded => "response_ended",
            HttpRequestError.ConfigurationLimitExceeded => "configuration_limit_exceeded",
            _ => exception.GetType().FullName!,
        }
        : exception.GetType().FullName!;

    private static string? KnownMethod(string method) => method switch
    {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        "QUERY" => "QUERY",
        _ => null,
    };

    private static object BoxedPort(int port) => port is >= 0 and < 600 ? BoxedStatusCodes[port] : port;

    private static string ProtocolVersion(Version version) => (version.Major, version.Minor) switch
    {
        (1, 1) => "1.1",
        (2, 0) => "2",
        (3, 0) => "3",
        (1, 0) => "1.0",
        _ => version.ToString(),
    };
}
