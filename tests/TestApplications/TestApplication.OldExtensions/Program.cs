using System.Diagnostics;
using Microsoft.Extensions.Logging;

var source = new ActivitySource("TestApp.OldExtensions");
using var factory = LoggerFactory.Create(builder => builder.AddSimpleConsole());
var logger = factory.CreateLogger("old");
using (var activity = source.StartActivity("old-extensions-work"))
{
    logger.LogInformation("working");
}

var version = typeof(ILogger).Assembly.GetName().Version;
Console.WriteLine($"logging abstractions {version}");
return 0;
