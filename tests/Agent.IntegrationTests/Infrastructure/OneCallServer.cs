using System.Globalization;
using System.Net;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>
/// An HTTP endpoint on 127.0.0.1 in the test process that an app under test calls once: it answers
/// the first call with a given status and keeps that call's headers (what the agent injected).
/// </summary>
public sealed class OneCallServer : IDisposable
{
    private readonly HttpListener _listener = new();

    public OneCallServer(int status)
    {
        Url = "http://127.0.0.1:" + TcpPort.FreePort().ToString(CultureInfo.InvariantCulture) + "/called/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        Called = Task.Run(async () =>
        {
            var context = await _listener.GetContextAsync();
            var headers = context.Request.Headers.AllKeys.ToDictionary(k => k!.ToLowerInvariant(), k => context.Request.Headers[k] ?? string.Empty);
            context.Response.StatusCode = status;
            context.Response.Close();
            return headers;
        });
    }

    public string Url { get; }

    /// <summary>The first call's headers, lower-case names.</summary>
    public Task<Dictionary<string, string>> Called { get; }

    public void Dispose() => _listener.Close();
}
