using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using OpenTelemetry.Trace;

// An app that uses the OpenTelemetry API (tracer, span, baggage, the API's own propagators) and
// has no SDK: under the agent its spans are exported and what the API does for it is unchanged.
// Arguments: [url to call]. Every line printed is the same with or without the agent except the
// ids, which the test compares with what the agent exported.
var tracer = TracerProvider.Default.GetTracer("TestApp.OpenTelemetryApi", "2.0.0");
using (var span = tracer.StartActiveSpan("api-span", SpanKind.Internal))
{
    span.SetAttribute("api.attribute", "from-the-api");
    Baggage.SetBaggage("api.key", "api-value");

    // The API's W3C propagator, used by hand as an app would for its own transport.
    var carrier = new Dictionary<string, string>();
    new TraceContextPropagator().Inject(new PropagationContext(Activity.Current?.Context ?? default, Baggage.Current), carrier, static (c, k, v) => c[k] = v);
    Console.WriteLine("api traceparent " + (carrier.TryGetValue("traceparent", out var value) ? value : "none"));

    // Without an SDK the API's default propagator is a no-op: the agent leaves it so.
    var viaDefault = new Dictionary<string, string>();
    Propagators.DefaultTextMapPropagator.Inject(new PropagationContext(Activity.Current?.Context ?? default, Baggage.Current), viaDefault, static (c, k, v) => c[k] = v);
    Console.WriteLine("default propagator wrote " + viaDefault.Count + " header(s)");
    Console.WriteLine("baggage api.key=" + Baggage.GetBaggage("api.key"));

    if (args.Length > 0)
    {
        using var client = new HttpClient();
        using var response = await client.GetAsync(args[0]);
        Console.WriteLine("call answered " + (int)response.StatusCode);
    }
}

Console.WriteLine("api app done");
return 0;
