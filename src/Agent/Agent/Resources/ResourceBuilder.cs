using System.Reflection;
using System.Runtime.InteropServices;
using TraceAgent.Configuration;
using TraceAgent.Propagation;

namespace TraceAgent.Resources;

/// <summary>
/// The resource every span carries: detected attributes first, then OTEL_RESOURCE_ATTRIBUTES, then
/// OTEL_SERVICE_NAME, each overriding the one before (OpenTelemetry resource SDK specification).
/// </summary>
internal static class ResourceBuilder
{
    public const string DistroName = "traceagent";

    public static IReadOnlyList<KeyValuePair<string, object>> Build(AgentSettings settings, string? cgroupPath = "/proc/self/cgroup", string? mountInfoPath = "/proc/self/mountinfo")
    {
        var attributes = new Dictionary<string, object>(StringComparer.Ordinal);
        var order = new List<string>();

        void Set(string key, object value)
        {
            if (!attributes.ContainsKey(key))
            {
                order.Add(key);
            }

            attributes[key] = value;
        }

        Set("service.name", DefaultServiceName());
        Set("service.instance.id", Uuid(Guid.NewGuid()));
        Set("telemetry.sdk.name", DistroName);
        Set("telemetry.sdk.language", "dotnet");
        Set("telemetry.sdk.version", AgentVersion);
        Set("telemetry.distro.name", DistroName);
        Set("telemetry.distro.version", AgentVersion);
        TrySet(Set, "host.name", () => Environment.MachineName);
        Set("host.arch", HostArch(RuntimeInformation.OSArchitecture));
        Set("os.type", OsType());
        TrySet(Set, "os.description", () => RuntimeInformation.OSDescription);
        Set("process.pid", (long)Environment.ProcessId);
        TrySet(Set, "process.executable.name", () => Path.GetFileName(Environment.ProcessPath));
        Set("process.runtime.name", ".NET");
        Set("process.runtime.version", Environment.Version.ToString());
        Set("process.runtime.description", RuntimeInformation.FrameworkDescription);
        var containerId = ContainerIdDetector.Detect(cgroupPath, mountInfoPath);
        if (containerId is not null)
        {
            Set("container.id", containerId);
        }

        foreach (var pair in settings.ResourceAttributes)
        {
            Set(pair.Key, pair.Value);
        }

        if (settings.ServiceName is not null)
        {
            Set("service.name", settings.ServiceName);
        }

        var result = new List<KeyValuePair<string, object>>(order.Count);
        foreach (var key in order)
        {
            result.Add(new KeyValuePair<string, object>(key, attributes[key]));
        }

        return result;
    }

    /// <summary>The resource's service.name (always set by <see cref="Build"/>).</summary>
    public static string ServiceName(IReadOnlyList<KeyValuePair<string, object>> resource)
    {
        for (var i = 0; i < resource.Count; i++)
        {
            if (resource[i].Key == "service.name")
            {
                return (string)resource[i].Value;
            }
        }

        throw new InvalidOperationException("the resource has no service.name");
    }

    /// <summary>
    /// The text Guid.ToString() gives (8-4-4-4-12 lower-case hex digits), written here: the
    /// runtime's own formatting takes a vectorised path it has no precompiled code for, and would be
    /// JIT-compiled at every start for this one string.
    /// </summary>
    internal static string Uuid(Guid guid)
    {
        Span<byte> bytes = stackalloc byte[16];
        guid.TryWriteBytes(bytes, bigEndian: true, out _);
        Span<char> text = stackalloc char[36];
        var at = 0;
        for (var i = 0; i < 16; i++)
        {
            if (i is 4 or 6 or 8 or 10)
            {
                text[at++] = '-';
            }

            text[at++] = LowerHex.Digit((byte)(bytes[i] >> 4));
            text[at++] = LowerHex.Digit((byte)(bytes[i] & 0xF));
        }

        return new string(text);
    }

    public static string AgentVersion { get; } =
        typeof(ResourceBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    internal static string DefaultServiceName()
    {
        // The entry assembly's name, as the OpenTelemetry .NET automatic instrumentation does;
        // the specification's fallback otherwise.
        var name = Assembly.GetEntryAssembly()?.GetName().Name;
        return string.IsNullOrEmpty(name) ? "unknown_service:" + (Path.GetFileNameWithoutExtension(Environment.ProcessPath) ?? "dotnet") : name;
    }

    internal static string HostArch(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.X86 => "x86",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm32",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64",
        _ => architecture.ToString().ToLowerInvariant(),
    };

    private static string OsType()
    {
        if (OperatingSystem.IsLinux())
        {
            return "linux";
        }

        if (OperatingSystem.IsWindows())
        {
            return "windows";
        }

        if (OperatingSystem.IsMacOS())
        {
            return "darwin";
        }

        return OperatingSystem.IsFreeBSD() ? "freebsd" : "unknown";
    }

    private static void TrySet(Action<string, object> set, string key, Func<string?> read)
    {
        try
        {
            var value = read();
            if (!string.IsNullOrEmpty(value))
            {
                set(key, value);
            }
        }
        catch (Exception)
        {
            // A detector that cannot read its source leaves its attribute out.
        }
    }
}
