using System.Reflection;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation;

namespace TraceAgent.Tests.Instrumentation;

/// <summary>
/// The registry names the instrumentations that live in their own assemblies by strings (the core
/// must not reference them: they load only with their library). These tests load every one of
/// those assemblies, as built, and hold each registry line to what the assembly declares.
/// </summary>
public sealed class InstrumentationRegistryTests
{
    // Instrumentations whose trigger is not an assembly they compile against: each waits for the
    // assembly that writes the diagnostic events it listens to, while compiling against that
    // assembly's abstractions only (ASP.NET Core's hosting events, the generic host's HostBuilding).
    private static readonly string[] TriggeredByAnUnreferencedAssembly = ["ASPNETCORE", "ILOGGER"];

    public static TheoryData<string> Ids() => [.. InstrumentationRegistry.All.Select(d => d.Id)];

    private static InstrumentationDescriptor Descriptor(string id) => InstrumentationRegistry.All.Single(d => d.Id == id);

    private static Type TypeOf(InstrumentationDescriptor descriptor)
    {
        var assembly = descriptor.ImplementationAssembly is null
            ? typeof(IInstrumentation).Assembly
            : Assembly.Load(new AssemblyName(descriptor.ImplementationAssembly));
        var type = assembly.GetType(descriptor.TypeName, throwOnError: false);
        Assert.True(type is not null, $"{descriptor.Id}: no type {descriptor.TypeName} in {assembly.GetName().Name}");
        return type!;
    }

    private static string? Constant(Type type, string name) =>
        type.GetField(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static) is { IsLiteral: true } field
            ? (string?)field.GetRawConstantValue()
            : null;

    [Theory]
    [MemberData(nameof(Ids))]
    public void Every_line_names_a_type_that_implements_the_instrumentation_interface_and_can_be_made(string id)
    {
        var type = TypeOf(Descriptor(id));
        Assert.True(typeof(IInstrumentation).IsAssignableFrom(type), $"{type.FullName} does not implement IInstrumentation");
        Assert.False(type.IsAbstract);
        Assert.NotNull(type.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes));
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void The_trigger_is_the_assembly_the_instrumentation_declares_and_compiles_against(string id)
    {
        var descriptor = Descriptor(id);
        var type = TypeOf(descriptor);
        Assert.Equal(Constant(type, "TriggerAssembly"), descriptor.TriggerAssembly);
        if (descriptor.ImplementationAssembly is null)
        {
            // Compiled into the core, which references no instrumented library: nothing more to compare.
            return;
        }

        var references = type.Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Contains("TraceAgent", references);
        Assert.Equal(!TriggeredByAnUnreferencedAssembly.Contains(id), references.Contains(descriptor.TriggerAssembly));
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void The_sources_are_the_ones_the_instrumentation_assembly_declares(string id)
    {
        var descriptor = Descriptor(id);
        var type = TypeOf(descriptor);

        // Every SourceName constant of the instrumentation's own types: in its assembly, or, for one
        // compiled into the core, in its namespace (its folder).
        var types = descriptor.ImplementationAssembly is null
            ? type.Assembly.GetTypes().Where(t => t.Namespace == type.Namespace)
            : type.Assembly.GetTypes();
        var declared = types.Select(t => Constant(t, "SourceName")).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(declared, descriptor.Sources.Order(StringComparer.Ordinal));
        if (declared.Count > 0)
        {
            Assert.Equal(declared, [Constant(type, "SourceName") ?? "(none on " + type.Name + ")"]);
        }
    }

    [Fact]
    public void Each_instrumentation_receives_its_own_slice_of_the_settings()
    {
        var settings = AgentSettings.Load(
            new SettingsReader(new Dictionary<string, string> { [ConfigurationKeys.InstrumentationEnabled("NPGSQL")] = "false" }),
            InstrumentationRegistry.Ids,
            InstrumentationRegistry.LogsIds);
        var slices = InstrumentationRegistry.All.ToDictionary(d => d.Id, d => d.SettingsOf(settings));

        Assert.Same(settings.AspNetCore, slices["ASPNETCORE"]);
        Assert.Same(settings.HttpClient, slices["HTTPCLIENT"]);
        Assert.Same(settings.Database, slices["NPGSQL"]);
        Assert.Equal(new EntityFrameworkCoreSettings(settings.Database, NpgsqlTraced: false), slices["ENTITYFRAMEWORKCORE"]);
        Assert.Same(settings.Redis, slices["STACKEXCHANGEREDIS"]);
        Assert.Same(settings.Kafka, slices["KAFKA"]);
        Assert.Null(slices["ILOGGER"]);
        Assert.DoesNotContain(slices.Values, s => s is AgentSettings);
    }

    [Fact]
    public void The_instrumentation_assemblies_are_exactly_those_the_registry_names()
    {
        // A new folder under src/Instrumentations with a project but no registry line would be
        // published and never loaded.
        var root = RepositoryRoot.Path;
        var projects = Directory.GetFiles(Path.Combine(root, "src", "Instrumentations"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => System.Xml.Linq.XDocument.Load(p).Descendants("AssemblyName").Single().Value)
            .Order(StringComparer.Ordinal);
        var named = InstrumentationRegistry.All.Select(d => d.ImplementationAssembly).OfType<string>().Order(StringComparer.Ordinal);
        Assert.Equal(projects, named);
    }
}
