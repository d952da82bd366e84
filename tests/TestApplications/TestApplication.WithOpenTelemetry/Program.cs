using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Trace;

// An app that set up OpenTelemetry itself: the agent must leave it alone.
var source = new ActivitySource("TestApp.WithOpenTelemetry");
var exported = 0;
using (var provider = Sdk.CreateTracerProviderBuilder().AddSource(source.Name).Build())
{
    using var activity = source.StartActivity("own-sdk-span");
    exported = activity is null ? 0 : 1;
}

Console.WriteLine($"own sdk made {exported} span");
return 0;
