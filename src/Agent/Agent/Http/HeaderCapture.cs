using System.Diagnostics;
using System.Net.Http.Headers;

namespace TraceAgent.Http;

/// <summary>
/// Records the values of chosen headers as http.request.header.&lt;name&gt; /
/// http.response.header.&lt;name&gt; string-array attributes (lower-case names, semantic conventions).
/// </summary>
public sealed class HeaderCapture
{
    private readonly (string Header, string Attribute)[] _headers;

    public HeaderCapture(string prefix, IReadOnlyList<string> headers)
    {
        // A loop, not Select(...).ToArray(): LINQ over a tuple has no precompiled code.
        _headers = new (string Header, string Attribute)[headers.Count];
        for (var i = 0; i < headers.Count; i++)
        {
            _headers[i] = (headers[i], prefix + headers[i].ToLowerInvariant());
        }
    }

    public bool IsEmpty => _headers.Length == 0;

    public IEnumerable<(string Header, string Attribute)> Headers => _headers;

    /// <summary>
    /// Records the chosen headers found in <paramref name="headers"/> or, for those HttpClient keeps
    /// with the body (Content-Type, Content-Length, Content-Encoding...), in its content's headers.
    /// </summary>
    public void Capture(Activity activity, HttpHeaders headers, HttpContent? content)
    {
        foreach (var (header, attribute) in _headers)
        {
            if (headers.TryGetValues(header, out var values) || (content is not null && content.Headers.TryGetValues(header, out values)))
            {
                activity.SetTag(attribute, values.ToArray());
            }
        }
    }
}
