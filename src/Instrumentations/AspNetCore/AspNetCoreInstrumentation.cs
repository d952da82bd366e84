using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using TraceAgent.Diagnostics;
using TraceAgent.Http;
using TraceAgent.Instrumentation;

namespace TraceAgent.Instrumentation.AspNetCore;

/// <summary>
/// ASP.NET Core server spans. The framework's "Microsoft.AspNetCore" ActivitySource makes the span
/// (and extracts the parent through DistributedContextPropagator.Current, the agent's propagator)
/// but tags nothing; the hosting DiagnosticListener's events carry the HttpContext, from which the
/// agent sets the stable HTTP server attributes, the route-based name and the error status.
/// </summary>
public sealed class AspNetCoreInstrumentation : IInstrumentation, IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    public const string SourceName = "Microsoft.AspNetCore";
    private const string StartEvent = "Microsoft.AspNetCore.Hosting.HttpRequestIn.Start";
    private const string StopEvent = "Microsoft.AspNetCore.Hosting.HttpRequestIn.Stop";
    private const string HostingUnhandled = "Microsoft.AspNetCore.Hosting.UnhandledException";
    private const string DiagnosticsUnhandled = "Microsoft.AspNetCore.Diagnostics.UnhandledException";

    private readonly List<IDisposable> _subscriptions = [];
    private readonly ServerSpanTagger _tagger;

    public AspNetCoreInstrumentation()
    {
        _tagger = null!;
    }

    private AspNetCoreInstrumentation(ServerSpanTagger tagger)
    {
        _tagger = tagger;
    }

    public IDisposable? Start(InstrumentationContext context)
    {
        var instance = new AspNetCoreInstrumentation(new ServerSpanTagger(context.Settings.Http));
        instance._subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(instance));
        return new Subscriptions(instance._subscriptions);
    }

    public void OnNext(DiagnosticListener value)
    {
        if (value.Name == SourceName)
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(value.Subscribe(this, static (name, _, _) =>
                    name is "Microsoft.AspNetCore.Hosting.HttpRequestIn" or StartEvent or StopEvent or HostingUnhandled or DiagnosticsUnhandled));
            }
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        try
        {
            switch (value.Key)
            {
                case StartEvent when value.Value is HttpContext context:
                    if (ActivityOf(context) is { Recorded: true } started)
                    {
                        _tagger.OnStart(started, context);
                    }

                    break;
                case StopEvent when value.Value is HttpContext context:
                    if (ActivityOf(context) is { Recorded: true } stopped)
                    {
                        _tagger.OnStop(stopped, context);
                    }

                    break;
                case HostingUnhandled:
                case DiagnosticsUnhandled:
                    if (value.Value is not null && ExceptionPayload.Read(value.Value) is ({ } httpContext, { } exception)
                        && ActivityOf(httpContext) is { Recorded: true } failed)
                    {
                        ServerSpanTagger.OnException(failed, exception);
                    }

                    break;
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("ASP.NET Core diagnostic event " + value.Key, ex);
        }
    }

    private static Activity? ActivityOf(HttpContext context) =>
        context.Features.Get<IHttpActivityFeature>()?.Activity ?? Activity.Current;

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    private sealed class Subscriptions(List<IDisposable> subscriptions) : IDisposable
    {
        public void Dispose()
        {
            lock (subscriptions)
            {
                foreach (var subscription in subscriptions)
                {
                    subscription.Dispose();
                }

                subscriptions.Clear();
            }
        }
    }
}
