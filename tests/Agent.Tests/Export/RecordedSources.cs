using System.Diagnostics;

namespace TraceAgent.Tests.Export;

/// <summary>
/// Activity sources whose spans a listener of the test's own records and samples, as the agent's
/// tracer would; disposing it removes the listener and the sources.
/// </summary>
internal sealed class RecordedSources : IDisposable
{
    private readonly ActivitySource[] _sources;
    private readonly ActivityListener _listener;

    public RecordedSources(params ActivitySource[] sources)
    {
        _sources = sources;
        _listener = new ActivityListener
        {
            ShouldListenTo = s => Array.IndexOf(_sources, s) >= 0,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The first source.</summary>
    public ActivitySource Source => _sources[0];

    public ActivitySource this[int index] => _sources[index];

    public void Dispose()
    {
        _listener.Dispose();
        foreach (var source in _sources)
        {
            source.Dispose();
        }
    }
}
