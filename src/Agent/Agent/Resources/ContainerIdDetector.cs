namespace TraceAgent.Resources;

/// <summary>
/// Reads the container id from cgroup v1 (/proc/self/cgroup) or, under cgroup v2 where that file
/// only says "0::/", from the mount table (/proc/self/mountinfo), where the runtime's bind mounts of
/// hostname and resolv.conf name the container's directory.
/// </summary>
internal static class ContainerIdDetector
{
    private const int IdLength = 64;

    public static string? Detect(string? cgroupPath, string? mountInfoPath)
    {
        try
        {
            if (cgroupPath is not null && File.Exists(cgroupPath))
            {
                foreach (var line in File.ReadLines(cgroupPath))
                {
                    var id = FromCgroupLine(line);
                    if (id is not null)
                    {
                        return id;
                    }
                }
            }

            if (mountInfoPath is not null && File.Exists(mountInfoPath))
            {
                foreach (var line in File.ReadLines(mountInfoPath))
                {
                    var id = FromMountInfoLine(line);
                    if (id is not null)
                    {
                        return id;
                    }
                }
            }
        }
        catch (Exception)
        {
            // No container id is a normal outcome outside containers and under restricted /proc.
        }

        return null;
    }

    internal static string? FromCgroupLine(string line)
    {
        // e.g. "12:pids:/docker/<64 hex>" or ".../cri-containerd-<64 hex>.scope"
        var path = line[(line.LastIndexOf(':') + 1)..];
        var last = path[(path.LastIndexOf('/') + 1)..];
        if (last.EndsWith(".scope", StringComparison.Ordinal))
        {
            last = last[..^".scope".Length];
        }

        var dash = last.LastIndexOf('-');
        if (dash >= 0)
        {
            last = last[(dash + 1)..];
        }

        return IsId(last) ? last : null;
    }

    internal static string? FromMountInfoLine(string line)
    {
        // e.g. "... /var/lib/docker/containers/<64 hex>/hostname /etc/hostname ..."
        foreach (var marker in new[] { "/containers/", "/sandboxes/" })
        {
            var index = line.IndexOf(marker, StringComparison.Ordinal);
            while (index >= 0)
            {
                var start = index + marker.Length;
                if (start + IdLength <= line.Length)
                {
                    var candidate = line.Substring(start, IdLength);
                    if (IsId(candidate))
                    {
                        return candidate;
                    }
                }

                index = line.IndexOf(marker, start, StringComparison.Ordinal);
            }
        }

        return null;
    }

    private static bool IsId(string value)
    {
        if (value.Length != IdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }

        return true;
    }
}
