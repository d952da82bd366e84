using System.Diagnostics;

namespace TraceAgent.Tracing;

/// <summary>
/// Records an exception on a span as the semantic conventions' "exception" event. Activity has
/// AddException only since .NET 9; the agent runs on .NET 8 too, so it writes the event itself,
/// with the same attributes the runtime's method writes.
/// </summary>
public static class ExceptionEvents
{
    public static void Record(Activity activity, Exception exception)
    {
        var tags = new ActivityTagsCollection
        {
            { "exception.type", exception.GetType().FullName },
            { "exception.message", exception.Message },
            { "exception.stacktrace", exception.ToString() },
        };
        activity.AddEvent(new ActivityEvent("exception", DateTimeOffset.UtcNow, tags));
    }
}
