namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>
/// The runtimes the agent traces, as the tests run them: the default test apps are .NET 10
/// (framework-dependent, on the installed runtime); the "net8" and "net9" variants of a test app
/// are self-contained builds for those runtimes (build/build.sh publishes them from each app's
/// variants file).
/// </summary>
public static class TestRuntimes
{
    public const string Default = "net10";

    public static TheoryData<string> All => new() { "net10", "net9", "net8" };

    /// <summary>The published name of an app's build for a runtime, e.g. TestApplication.Web-net8.</summary>
    public static string App(string name, string runtime) => runtime == Default ? name : name + "-" + runtime;

    /// <summary>The runtime's major version, as Environment.Version reports it inside the app.</summary>
    public static int Major(string runtime) => int.Parse(runtime.AsSpan(3), System.Globalization.CultureInfo.InvariantCulture);
}
