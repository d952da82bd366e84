using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// A console app on the generic host (Microsoft.Extensions.Hosting from its own packages) that
// logs to the console with scopes, outside and inside a span of its own ActivitySource. It has no
// correlation code; LOG_FORMAT=json selects the JSON console formatter.
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders();
if (Environment.GetEnvironmentVariable("LOG_FORMAT") == "json")
{
    builder.Logging.AddJsonConsole(options => options.IncludeScopes = true);
}
else
{
    builder.Logging.AddSimpleConsole(options =>
    {
        options.IncludeScopes = true;
        options.SingleLine = true;
    });
}

builder.Logging.Configure(options => options.ActivityTrackingOptions = ActivityTrackingOptions.None);

using (var host = builder.Build())
{
    var logger = host.Services.GetRequiredService<ILogger<Worker>>();
    using var source = new ActivitySource("TestApplication.LoggingConsole");

    logger.LogInformation("Outside any span {Marker}", "console-outside");
    using (var activity = source.StartActivity("work"))
    {
        logger.LogInformation("Inside span {Marker} at step {Step}", "console-inside", 7);
    }
}

// Disposing the host flushes the console logger's queue before this line.
Console.WriteLine("console app done");

internal sealed class Worker;
