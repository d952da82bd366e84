using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace TraceAgent.Instrumentation.ILogger;

/// <summary>What the agent adds to a host's services.</summary>
internal static class LoggingServices
{
    // The ids the logging infrastructure itself adds as the first scope of every record written
    // while an Activity is current: console (IncludeScopes), JSON console and any provider that
    // reads scopes show them.
    internal const ActivityTrackingOptions Tracking =
        ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId | ActivityTrackingOptions.TraceFlags;

    public static void Add(IServiceCollection services, AgentLoggerProvider? provider)
    {
        // PostConfigure runs after every Configure, so an app's own setting (the default hosts set
        // TraceId|SpanId|ParentId) is extended, not replaced; the app's other flags stay.
        services.PostConfigure<LoggerFactoryOptions>(static options => options.ActivityTrackingOptions |= Tracking);
        if (provider is not null)
        {
            // An instance registration: the container never disposes it; the agent owns the export.
            services.TryAddEnumerable(new ServiceDescriptor(typeof(ILoggerProvider), provider));
        }
    }
}
