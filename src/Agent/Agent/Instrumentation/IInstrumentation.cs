namespace TraceAgent.Instrumentation;

/// <summary>
/// The seam between the core and one library's instrumentation: started once, when the library's
/// assembly loads, with its slice of the settings; disposed at shutdown.
/// </summary>
public interface IInstrumentation
{
    IDisposable? Start(InstrumentationContext context);
}
