using System.Reflection;
using System.Reflection.Emit;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>
/// A library version the package registry does not serve, stood in for by an assembly the test
/// writes: the library's name and version, and the named types, empty. The console test app loads
/// it (CONSOLE_APP_LOAD) under the agent, as an app loads the real one.
/// </summary>
public static class StandInLibrary
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Runs the console app (one root span and its child) with the stand-in loaded first; the process has ended when this returns.</summary>
    public static async Task<TestProcess> RunConsoleAppWithAsync(OtlpReceiver receiver, string service, string name, Version version, params string[] types)
    {
        var directory = Directory.CreateTempSubdirectory("traceagent-stand-in-");
        try
        {
            var library = Path.Combine(directory.FullName, name + ".dll");
            var assembly = new PersistedAssemblyBuilder(new AssemblyName(name) { Version = version }, typeof(object).Assembly);
            var module = assembly.DefineDynamicModule(name);
            foreach (var type in types)
            {
                module.DefineType(type, TypeAttributes.Public | TypeAttributes.Sealed, typeof(object)).CreateType();
            }

            assembly.Save(library);
            var environment = AgentEnvironment.For(receiver, service).With(
                ("OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES", "TestApp.Console"),
                ("OTEL_METRICS_EXPORTER", "none"),
                ("CONSOLE_APP_LOAD", library));
            var process = TestProcess.StartDotnet(RepoPaths.TestAppDll("TestApplication.Console"), environment, ["return", "1"]);
            await process.WaitForExitAsync(Timeout);
            return process;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
