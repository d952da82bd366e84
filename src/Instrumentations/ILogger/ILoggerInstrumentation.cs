using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TraceAgent.Diagnostics;
using TraceAgent.Logs;

namespace TraceAgent.Instrumentation.ILogger;

/// <summary>
/// Correlates ILogger records with traces, with no code in the app. Every generic host
/// (HostBuilder, Host.CreateApplicationBuilder, WebApplication) announces its build on the
/// "Microsoft.Extensions.Hosting" DiagnosticListener with a "HostBuilding" event carrying its
/// builder, before the service provider exists; the agent then adds its logging services, last,
/// to the builder's service collection (<see cref="LoggingServices"/>).
/// </summary>
public sealed class ILoggerInstrumentation : IInstrumentation, IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    public const string HostingListenerName = "Microsoft.Extensions.Hosting";

    /// <summary>
    /// The assembly whose loading starts the instrumentation (the core's registry names it; a unit
    /// test compares): the one that writes the HostBuilding event, which is compiled against through
    /// Microsoft.Extensions.Hosting.Abstractions only.
    /// </summary>
    public const string TriggerAssembly = "Microsoft.Extensions.Hosting";
    private const string HostBuildingEvent = "HostBuilding";

    private readonly AgentLoggerProvider? _provider;
    private IDisposable? _subscription;

    public ILoggerInstrumentation()
    {
    }

    private ILoggerInstrumentation(LogExport? logs)
    {
        _provider = logs is null ? null : new AgentLoggerProvider(logs);
    }

    public IDisposable? Start(InstrumentationContext context)
    {
        var instance = new ILoggerInstrumentation(context.Logs);
        instance._subscription = DiagnosticListener.AllListeners.Subscribe(instance);
        return instance._subscription;
    }

    public void OnNext(DiagnosticListener value)
    {
        // Each host makes its own listener for the length of its Build and disposes it after; the
        // subscription goes with it, so nothing needs to be kept here.
        if (value.Name == HostingListenerName)
        {
            value.Subscribe(this, static (name, _, _) => name == HostBuildingEvent);
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Key != HostBuildingEvent)
        {
            return;
        }

        try
        {
            Attach(value.Value);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("ilogger host building", ex);
        }
    }

    private void Attach(object? builder)
    {
        // HostBuilder passes itself; HostApplicationBuilder (and so WebApplicationBuilder) passes
        // an IHostBuilder adapter whose ConfigureServices callbacks run right after the event.
        // IHostApplicationBuilder is accepted too in case a version passes the builder itself.
        switch (builder)
        {
            case IHostApplicationBuilder applicationBuilder:
                LoggingServices.Add(applicationBuilder.Services, _provider);
                break;
            case IHostBuilder hostBuilder:
                hostBuilder.ConfigureServices((_, services) => LoggingServices.Add(services, _provider));
                break;
            default:
                AgentLog.Debug($"ILOGGER: a host is being built with a builder of an unknown kind ({builder?.GetType().FullName ?? "null"}); its logs are not correlated");
                return;
        }

        AgentLog.Info($"ILOGGER: attached to a host being built ({builder.GetType().Name}): trace ids in log scopes{(_provider is null ? string.Empty : ", log records exported")}");
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }
}
