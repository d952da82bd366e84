using System.Diagnostics.Metrics;

namespace TraceAgent.Metrics;

/// <summary>
/// Makes the meters of the agent's own HTTP clients (the exporters'), so that the listener can
/// tell them from the app's: exporting must not show up as the app's HttpClient requests.
/// </summary>
internal sealed class AgentMeterFactory : IMeterFactory
{
    public static readonly AgentMeterFactory Instance = new();

    private AgentMeterFactory()
    {
    }

    public Meter Create(MeterOptions options)
    {
        options.Scope = this;
        return new Meter(options);
    }

    public void Dispose()
    {
        // One per process, kept for the process's lifetime.
    }
}
