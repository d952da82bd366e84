using System.Reflection;
using System.Security.Cryptography;

namespace TraceAgent.Viewer.Web;

/// <summary>The pages' files, embedded in the viewer's assembly: nothing to build, nothing fetched.</summary>
internal sealed class WebAssets
{
    private const string Prefix = "web/";
    private readonly Dictionary<string, Asset> _assets = new(StringComparer.Ordinal);

    private WebAssets()
    {
        Assembly assembly = typeof(WebAssets).Assembly;
        foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using Stream stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            byte[] bytes = buffer.ToArray();
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 8)) + "\"";
            _assets[name[Prefix.Length..]] = new Asset(bytes, ContentType(name), etag);
        }
    }

    public static WebAssets Instance { get; } = new();

    public IEnumerable<string> Names => _assets.Keys;

    public Asset? Find(string name) => _assets.GetValueOrDefault(name);

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    internal sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
