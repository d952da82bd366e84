using System.Diagnostics;
using System.Reflection;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Trace;
using TraceAgent.Instrumentation;

namespace TraceAgent.Tests.Parity;

/// <summary>
/// What Npgsql.OpenTelemetry does for tracing, taken apart: its public surface is the AddNpgsql
/// extension, and all AddNpgsql does is subscribe the SDK to Npgsql's own "Npgsql" ActivitySource.
/// The spans come from Npgsql itself, untouched by the package, and the agent's NPGSQL
/// instrumentation listens to that same source; so the package gives nothing the agent lacks.
/// </summary>
public sealed class NpgsqlOpenTelemetryTests
{
    [Fact]
    public void Its_tracing_surface_is_one_extension_method()
    {
        var assembly = typeof(Npgsql.TracerProviderBuilderExtensions).Assembly;
        Assert.Equal("Npgsql.OpenTelemetry", assembly.GetName().Name);
        var tracingMethods = assembly.GetExportedTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.GetParameters().FirstOrDefault()?.ParameterType == typeof(TracerProviderBuilder))
            .Select(m => m.Name)
            .Distinct();
        Assert.Equal(["AddNpgsql"], tracingMethods);
    }

    [Fact]
    public void AddNpgsql_subscribes_to_the_Npgsql_source_and_changes_nothing_on_its_spans()
    {
        var captured = new List<Activity>();
        using var npgsql = new ActivitySource("Npgsql");
        using var other = new ActivitySource("Npgsql.Something.Else");
        using (var provider = Sdk.CreateTracerProviderBuilder().AddNpgsql().AddProcessor(new Capture(captured)).Build())
        {
            Assert.True(npgsql.HasListeners());
            Assert.False(other.HasListeners());

            // A span as Npgsql makes it: what arrives is exactly what Npgsql set.
            using (var span = npgsql.StartActivity("postgresql", ActivityKind.Client))
            {
                span!.SetTag("db.system.name", "postgresql");
                span.SetTag("db.query.text", "SELECT 1");
            }
        }

        var exported = Assert.Single(captured);
        Assert.Equal("postgresql", exported.DisplayName);
        Assert.Equal(
            [new("db.query.text", "SELECT 1"), new("db.system.name", "postgresql")],
            exported.TagObjects.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new KeyValuePair<string, object?>(t.Key, t.Value)));
        Assert.Empty(exported.Events);
    }

    [Fact]
    public void The_agent_listens_to_the_same_source()
    {
        var npgsql = Assert.Single(InstrumentationRegistry.All, d => d.Id == "NPGSQL");
        Assert.Equal(["Npgsql"], npgsql.Sources);
    }

    private sealed class Capture(List<Activity> captured) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data) => captured.Add(data);
    }
}
