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
        _headers = headers.Select(h => (h, prefix + h.ToLowerInvariant())).ToArray();
    }

    public bool IsEmpty => _headers.Length == 0;

    public IEnumerable<(string Header, string Attribute)> Headers => _headers;

    public void Capture(Activity activity, HttpHeaders headers)
    {
        foreach (var (header, attribute) in _headers)
        {
            if (headers.TryGetValues(header, out var values))
            {
                activity.SetTag(attribute, values.ToArray());
            }
        }
    }
}
