using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// A console app on the generic host (Microsoft.Extensions.Hosting from its own packages) that
// logs to the console with scopes, outside and inside a span of its own ActivitySource. It has no
// correlation code; LOG_FORMAT=json selects the JSON console formatter.
// LOG_COUNT=N logs N more records inside the span, one after the other.
// HOST_KIND=hostbuilder builds the older way, through Host.CreateDefaultBuilder (an IHostBuilder);
// HOST_KIND=new and HOST_KIND=empty build hosts without the defaults (new HostBuilder(),
// Host.CreateEmptyApplicationBuilder).
var host = Environment.GetEnvironmentVariable("HOST_KIND") switch
{
    "hostbuilder" => Host.CreateDefaultBuilder(args).ConfigureLogging(ConfigureLogging).Build(),
    "new" => new HostBuilder().ConfigureLogging(ConfigureLogging).Build(),
    "empty" => BuildEmptyHost(args),
    _ => BuildApplicationHost(args),
};

using (host)
{
    var logger = host.Services.GetRequiredService<ILogger<Worker>>();
    using var source = new ActivitySource("TestApplication.LoggingConsole");

    logger.LogInformation("Outside any span {Marker}", "console-outside");
    using (var activity = source.StartActivity("work"))
    {
        logger.LogInformation("Inside span {Marker} at step {Step}", "console-inside", 7);
        var more = int.TryParse(Environment.GetEnvironmentVariable("LOG_COUNT"), out var count) ? count : 0;
        for (var i = 0; i < more; i++)
        {
            logger.LogInformation("Record {Index} of a burst", i);
        }
    }
}

// Disposing the host flushes the console logger's queue before this line.
Console.WriteLine("console app done");

static IHost BuildApplicationHost(string[] args)
{
    var builder = Host.CreateApplicationBuilder(args);
    ConfigureLogging(builder.Logging);
    return builder.Build();
}

static IHost BuildEmptyHost(string[] args)
{
    var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = args });
    ConfigureLogging(builder.Logging);
    return builder.Build();
}

static void ConfigureLogging(ILoggingBuilder logging)
{
    logging.ClearProviders();
    if (Environment.GetEnvironmentVariable("LOG_FORMAT") == "json")
    {
        logging.AddJsonConsole(options => options.IncludeScopes = true);
    }
    else
    {
        logging.AddSimpleConsole(options =>
        {
            options.IncludeScopes = true;
            options.SingleLine = true;
        });
    }

    // Like many apps, this one turns off the activity tracking the default hosts set up, so trace
    // ids in its output can only come from the agent.
    logging.Configure(options => options.ActivityTrackingOptions = ActivityTrackingOptions.None);
}

internal sealed class Worker;
