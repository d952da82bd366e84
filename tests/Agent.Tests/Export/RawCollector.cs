using System.Text;

namespace TraceAgent.Tests.Export;

/// <summary>For tests that play the collector on a bare TCP connection, to answer what no real server would.</summary>
internal static class RawCollector
{
    /// <summary>Reads the exporter's request head, up to its blank line.</summary>
    public static async Task ReadHeadAsync(Stream stream)
    {
        var buffer = new byte[64 * 1024];
        var head = new StringBuilder();
        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                throw new IOException("the exporter closed the connection before its request head ended");
            }

            head.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
    }
}
