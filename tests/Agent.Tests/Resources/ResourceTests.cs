using TraceAgent.Configuration;
using TraceAgent.Instrumentation;
using TraceAgent.Resources;

namespace TraceAgent.Tests.Resources;

public sealed class ResourceTests
{
    private static Dictionary<string, object> Build(params (string Key, string Value)[] values)
    {
        var settings = AgentSettings.Load(new SettingsReader(values.ToDictionary(v => v.Key, v => v.Value)), InstrumentationRegistry.Ids);
        return ResourceBuilder.Build(settings, cgroupPath: null, mountInfoPath: null).ToDictionary(a => a.Key, a => a.Value);
    }

    [Fact]
    public void Detected_attributes_are_present()
    {
        var resource = Build();
        Assert.Equal("dotnet", resource["telemetry.sdk.language"]);
        Assert.Equal("traceagent", resource["telemetry.distro.name"]);
        Assert.Equal((long)Environment.ProcessId, resource["process.pid"]);
        Assert.Equal(Environment.MachineName, resource["host.name"]);
        Assert.Equal("linux", resource["os.type"]);
        Assert.Equal(".NET", resource["process.runtime.name"]);
        Assert.Equal(Environment.Version.ToString(), resource["process.runtime.version"]);
        Assert.True(Guid.TryParse((string)resource["service.instance.id"], out _));
        Assert.Contains(resource["host.arch"], new object[] { "amd64", "arm64" });
        Assert.False(string.IsNullOrEmpty((string)resource["service.name"]));
    }

    [Fact]
    public void The_instance_id_is_written_as_the_runtime_writes_a_guid()
    {
        foreach (var guid in new[] { Guid.Empty, Guid.AllBitsSet, new Guid("00112233-4455-6677-8899-aabbccddeeff") }.Concat(Enumerable.Range(0, 200).Select(_ => Guid.NewGuid())))
        {
            Assert.Equal(guid.ToString(), ResourceBuilder.Uuid(guid));
        }

        var id = (string)Build()["service.instance.id"];
        Assert.Equal(Guid.Parse(id).ToString(), id);
    }

    [Fact]
    public void Resource_attributes_override_detected_ones_and_service_name_overrides_both()
    {
        var resource = Build(
            (ConfigurationKeys.ResourceAttributes, "service.name=from-attributes,host.name=h1,deployment.environment.name=test"),
            (ConfigurationKeys.ServiceName, "from-service-name"));
        Assert.Equal("from-service-name", resource["service.name"]);
        Assert.Equal("h1", resource["host.name"]);
        Assert.Equal("test", resource["deployment.environment.name"]);

        Assert.Equal("from-attributes", Build((ConfigurationKeys.ResourceAttributes, "service.name=from-attributes"))["service.name"]);
    }

    [Fact]
    public void Container_id_from_cgroup_v1()
    {
        const string Id = "3f2a9c1b7d8e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90";
        Assert.Equal(Id, ContainerIdDetector.FromCgroupLine("12:pids:/docker/" + Id));
        Assert.Equal(Id, ContainerIdDetector.FromCgroupLine("0::/system.slice/cri-containerd-" + Id + ".scope"));
        Assert.Null(ContainerIdDetector.FromCgroupLine("0::/"));
        Assert.Null(ContainerIdDetector.FromCgroupLine("1:name=systemd:/user.slice/user-0.slice/session-1.scope"));
    }

    [Fact]
    public void Container_id_from_cgroup_v2_mountinfo()
    {
        const string Id = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
        var line = "1234 1200 8:1 /var/lib/docker/containers/" + Id + "/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw";
        Assert.Equal(Id, ContainerIdDetector.FromMountInfoLine(line));
        Assert.Null(ContainerIdDetector.FromMountInfoLine("22 1 0:21 / /proc rw,nosuid - proc proc rw"));
    }

    [Fact]
    public void Container_id_detection_reads_files()
    {
        const string Id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        var directory = Directory.CreateTempSubdirectory();
        try
        {
            var cgroup = Path.Combine(directory.FullName, "cgroup");
            var mountinfo = Path.Combine(directory.FullName, "mountinfo");
            File.WriteAllText(cgroup, "0::/\n");
            File.WriteAllText(mountinfo, "1 2 0:1 / / rw - overlay overlay rw\n3 4 8:1 /var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/" + Id + "/hostname /etc/hostname rw - ext4 /dev/vda rw\n");
            Assert.Equal(Id, ContainerIdDetector.Detect(cgroup, mountinfo));
            Assert.Null(ContainerIdDetector.Detect(Path.Combine(directory.FullName, "missing"), null));
        }
        finally
        {
            directory.Delete(true);
        }
    }
}
