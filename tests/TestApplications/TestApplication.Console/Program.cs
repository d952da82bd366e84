using System.Diagnostics;

// A console app with no tracing code beyond its own ActivitySource: the agent exports its spans
// when OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES names the source.
var source = new ActivitySource("TestApp.Console", "1.2.3");
var mode = args.Length > 0 ? args[0] : "return";
var count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1;

// A third argument gives each root span a query text of that many KiB, for export size limits.
var queryKib = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0;
var withEvents = Environment.GetEnvironmentVariable("CONSOLE_APP_EVENTS") == "1";

// CONSOLE_APP_LOAD=<path>: loads that assembly first, as an app loads a library (a test's stand-in
// for a library version the agent does not support).
if (Environment.GetEnvironmentVariable("CONSOLE_APP_LOAD") is { Length: > 0 } library)
{
    var loaded = System.Reflection.Assembly.LoadFrom(library).GetName();
    Console.WriteLine("loaded " + loaded.Name + " " + loaded.Version);
}

// CONSOLE_APP_BAD_TAG=1: the first root span carries a tag value whose ToString throws, as an
// app's own type might, and an array that holds itself; the agent meets them when it encodes the
// span.
var badTag = Environment.GetEnvironmentVariable("CONSOLE_APP_BAD_TAG") == "1";

for (var i = 0; i < count; i++)
{
    using var root = source.StartActivity("console-root");
    root?.SetTag("test.attribute", "value");
    root?.SetTag("test.number", 42);
    root?.SetTag("test.flag", true);
    if (badTag && i == 0)
    {
        root?.SetTag("test.bad", new ThrowingToString());
        var cycle = new object?[] { "cycle", null };
        cycle[1] = cycle;
        root?.SetTag("test.cycle", cycle);
    }

    if (queryKib > 0)
    {
        root?.SetTag("db.query.text", "SELECT '" + new string((char)('a' + (i % 26)), (queryKib * 1024) - 20) + "' AS q" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
    // CONSOLE_APP_EVENTS=1: two events on the root and two links on the child, each with two
    // attributes, for the span limits.
    if (withEvents)
    {
        root?.AddEvent(new ActivityEvent("console-event-1", tags: new ActivityTagsCollection { ["event.a"] = 1, ["event.b"] = 2 }));
        root?.AddEvent(new ActivityEvent("console-event-2", tags: new ActivityTagsCollection { ["event.a"] = 3, ["event.b"] = 4 }));
    }

    ActivityLink[]? links = withEvents && root is not null
        ? [new(root.Context, new ActivityTagsCollection { ["link.a"] = 1, ["link.b"] = 2 }), new(root.Context, new ActivityTagsCollection { ["link.a"] = 3, ["link.b"] = 4 })]
        : null;
    using (var child = source.StartActivity("console-child", ActivityKind.Client, default(ActivityContext), links: links))
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

/// <summary>An app type whose ToString fails.</summary>
internal sealed class ThrowingToString
{
    public override string ToString() => throw new InvalidOperationException("ToString fails on purpose");
}
