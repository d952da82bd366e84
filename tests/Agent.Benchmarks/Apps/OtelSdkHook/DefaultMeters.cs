namespace OtelSdkHook;

/// <summary>The meters the agent turns on by default: what the SDK's metrics reference and the floor's meter listener both turn on.</summary>
internal static class DefaultMeters
{
    public static readonly string[] Names =
    [
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "System.Net.NameResolution", "System.Runtime", "Npgsql",
    ];
}
