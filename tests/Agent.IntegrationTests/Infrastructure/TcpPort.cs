using System.Globalization;
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

    /// <summary>
    /// Whether process <paramref name="pid"/> holds a socket listening on TCP port
    /// <paramref name="port"/> (IPv4 or IPv6): the sockets of /proc/net/tcp* in state LISTEN on
    /// that port, matched by inode against the process's file descriptors.
    /// </summary>
    public static bool IsListeningIn(int pid, int port)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[3] == "0A"
                    && int.Parse(fields[1][(fields[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port)
                {
                    inodes.Add("socket:[" + fields[9] + "]");
                }
            }
        }

        if (inodes.Count == 0)
        {
            return false;
        }

        try
        {
            foreach (var descriptor in Directory.EnumerateFileSystemEntries("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/fd"))
            {
                if (new FileInfo(descriptor).LinkTarget is { } target && inodes.Contains(target))
                {
                    return true;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The process ended meanwhile.
        }

        return false;
    }
}
