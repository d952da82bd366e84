using System.Diagnostics;

// A console app with no tracing code beyond its own ActivitySource: the agent exports its spans
// when OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES names the source.
var source = new ActivitySource("TestApp.Console", "1.2.3");
var mode = args.Length > 0 ? args[0] : "return";
var count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1;

// A third argument gives each root span a query text of that many KiB, for export size limits.
var queryKib = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0;

for (var i = 0; i < count; i++)
{
    using var root = source.StartActivity("console-root");
    root?.SetTag("test.attribute", "value");
    root?.SetTag("test.number", 42);
    root?.SetTag("test.flag", true);
    if (queryKib > 0)
    {
        root?.SetTag("db.query.text", "SELECT '" + new string((char)('a' + (i % 26)), (queryKib * 1024) - 20) + "' AS q" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
    using (var child = source.StartActivity("console-child", ActivityKind.Client))
    {
        child?.SetTag("test.index", i);
    }
}

Console.WriteLine("console app done");
Console.Out.Flush();
switch (mode)
{
    case "environment-exit":
        Environment.Exit(3);
        break;
    case "wait":
        // Waits to be stopped by SIGTERM.
        Console.WriteLine("waiting for a signal");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
        break;
}

return 5;
