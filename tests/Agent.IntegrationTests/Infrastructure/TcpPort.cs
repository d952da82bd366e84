using System.Net;
using System.Net.Sockets;

namespace TraceAgent.IntegrationTests.Infrastructure;

public static class TcpPort
{
    /// <summary>
    /// A loopback port free at the time of the call. Another process may take it before it is
    /// used; prefer binding port 0 where the server allows it.
    /// </summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
