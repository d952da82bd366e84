using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.AspNetCore;

/// <summary>
/// ASP.NET Core server spans. The framework's "Microsoft.AspNetCore" ActivitySource makes the span
/// (and extracts the parent through DistributedContextPropagator.Current, the agent's propagator)
/// but tags nothing; the hosting DiagnosticListener's events carry the HttpContext, from which the
/// agent sets the stable HTTP server attributes, the route-based name and the error status.
/// </summary>
public sealed class AspNetCoreInstrumentation : IInstrumentation
{
    public const string SourceName = "Microsoft.AspNetCore";

    /// <summary>The assembly whose loading starts the instrumentation (its registry line).</summary>
    public const string TriggerAssembly = "Microsoft.AspNetCore.Hosting";
    private const string StartEvent = "Microsoft.AspNetCore.Hosting.HttpRequestIn.Start";
    private const string StopEvent = "Microsoft.AspNetCore.Hosting.HttpRequestIn.Stop";
    private const string HostingUnhandled = "Microsoft.AspNetCore.Hosting.UnhandledException";
    private const string DiagnosticsUnhandled = "Microsoft.AspNetCore.Diagnostics.UnhandledException";

    private static readonly PropertyFetcher HttpContextOf = new("httpContext");
    private static readonly PropertyFetcher ExceptionOf = new("exception");

    /// <summary>
    /// ASP.NET Core 8 extracts baggage only from a request that also carries a trace parent; from
    /// .NET 9 on it extracts it from any request. The agent does the same on .NET 8, so baggage set
    /// by a caller that does not trace reaches the app and the next service on every runtime.
    /// Read once: in a self-contained app Environment.Version reads the runtime assembly's
    /// attributes by reflection on every call (5.5% of a .NET 8 service's CPU when read per request).
    /// </summary>
    private static readonly bool HostingExtractsLoneBaggage = Environment.Version.Major >= 9;

    // The request whose held span is ending on this thread (see OnHeldEnd).
#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
    [ThreadStatic]
    private static HeldRequest? t_heldEnding;

    // The request whose sampled span is ending on this thread, its attributes still to be written
    // (see WriteAttributes).
    [ThreadStatic]
    private static HeldRequest? t_writtenEnding;
#pragma warning restore IDE1006

    public IDisposable? Start(InstrumentationContext context)
    {
        var tagger = new ServerSpanTagger(context.GetSettings<AspNetCoreSettings>());
        var sampling = context.Sampling;
        // Given no span, the hosting layer makes one of its own for the listener below (a request
        // under a parent in this process, as with an in-process test server).
        context.MakeUnsampled(SourceName);
        var written = context.EncodesSpansAsTheyEnd;
        context.SetHooks(SourceName, new SpanHooks
        {
            OnHeldEnd = activity => OnHeldEnd(tagger, activity),
            WriteAttributes = written ? (Activity activity, ref SpanAttributes attributes) => WriteAttributes(tagger, activity, ref attributes) : null,
        });
        return DiagnosticListeners.Subscribe(
            SourceName,
            static name => name is "Microsoft.AspNetCore.Hosting.HttpRequestIn" or StartEvent or StopEvent or HostingUnhandled or DiagnosticsUnhandled,
            (name, payload) => OnEvent(tagger, sampling, written, name, payload),
            "ASP.NET Core diagnostic event");
    }

    // A sampled span gets its path and query as the request starts, and its other attributes as it
    // ends, when the response is known. A span held until its trace is
    // decided (keep errors or slow requests, docs/sampling.md) is only given its error status at
    // the end; the rest is tagged when the span ends, if its trace is not dropped then (OnHeldEnd,
    // called by the tracer inside the Activity's Stop, right after the hosting stop event, while
    // the HttpContext is still the request's). At a low ratio nearly every held trace is dropped,
    // and tagging it would be most of what keeping errors costs.
    // When each span is encoded as it ends (OTLP alone, `written`), those other attributes are not
    // set on the Activity at all: they are written into the span's encoding, from the request,
    // inside the Activity's Stop (WriteAttributes), which the hosting layer calls right after the
    // stop event, on the same thread.
    private static void OnEvent(ServerSpanTagger tagger, SamplingPolicy sampling, bool written, string name, object? payload)
    {
        switch (name)
        {
            case StartEvent when payload is HttpContext context:
                var activity = ActivityOf(context);
                if (!HostingExtractsLoneBaggage && activity is not null)
                {
                    AddLoneBaggage(activity, context.Request.Headers);
                }

                if (activity is not { IsAllDataRequested: true } || tagger.Exclude(activity, context.Request))
                {
                    break;
                }

                if (sampling.DefersServerRoots)
                {
                    sampling.DecideServerRoot(activity, context.Request.Path.Value);
                }

                if (activity is { IsAllDataRequested: true, Recorded: true })
                {
                    tagger.OnStart(activity, context);
                }

                break;
            case StopEvent when payload is HttpContext context:
                if (ActivityOf(context) is { IsAllDataRequested: true } stopped)
                {
                    if (stopped.Recorded)
                    {
                        if (written)
                        {
                            var ending = t_writtenEnding ??= new HeldRequest();
                            ending.Route = tagger.OnStop(stopped, context);
                            ending.Activity = stopped;
                            ending.Context = context;
                        }
                        else
                        {
                            tagger.End(stopped, context);
                        }
                    }
                    else
                    {
                        ServerSpanTagger.SetStatus(stopped, context);
                        var held = t_heldEnding ??= new HeldRequest();
                        held.Activity = stopped;
                        held.Context = context;
                    }
                }

                break;
            case HostingUnhandled:
            case DiagnosticsUnhandled:
                if (HttpContextOf.Fetch(payload) is HttpContext failedContext && ExceptionOf.Fetch(payload) is Exception exception
                    && ActivityOf(failedContext) is { IsAllDataRequested: true } failed)
                {
                    ServerSpanTagger.OnException(failed, exception);
                }

                break;
        }
    }

    private static void OnHeldEnd(ServerSpanTagger tagger, Activity activity)
    {
        var held = t_heldEnding;
        if (held is null || !ReferenceEquals(held.Activity, activity) || held.Context is not { } context)
        {
            return;
        }

        held.Activity = null;
        held.Context = null;
        tagger.OnStart(activity, context);
        tagger.End(activity, context);
    }

    private static void WriteAttributes(ServerSpanTagger tagger, Activity activity, ref SpanAttributes attributes)
    {
        var ending = t_writtenEnding;
        if (ending is null || !ReferenceEquals(ending.Activity, activity) || ending.Context is not { } context)
        {
            return;
        }

        var route = ending.Route;
        ending.Activity = null;
        ending.Context = null;
        ending.Route = null;
        tagger.Write(context, route, ref attributes);
    }

    private static void AddLoneBaggage(Activity activity, IHeaderDictionary headers)
    {
        // The header first: nearly every request has none, and enumerating Activity.Baggage runs
        // generic framework code that is not precompiled.
        if (!headers.ContainsKey("baggage") || activity.Baggage.Any())
        {
            return;
        }

        var baggage = DistributedContextPropagator.Current.ExtractBaggage(headers, static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            values = null;
            value = carrier is IHeaderDictionary headers && headers.TryGetValue(name, out var found) ? found.ToString() : null;
        });
        if (baggage is null)
        {
            return;
        }

        // Activity.AddBaggage puts each item first: add in reverse so the app reads them in order.
        foreach (var item in baggage.Reverse())
        {
            activity.AddBaggage(item.Key, item.Value);
        }
    }

    private sealed class HeldRequest
    {
        public Activity? Activity { get; set; }

        public HttpContext? Context { get; set; }

        /// <summary>The matched route, when the span's attributes are written (see WriteAttributes).</summary>
        public string? Route { get; set; }
    }

    private static Activity? ActivityOf(HttpContext context) =>
        context.Features.Get<IHttpActivityFeature>()?.Activity ?? Activity.Current;
}
