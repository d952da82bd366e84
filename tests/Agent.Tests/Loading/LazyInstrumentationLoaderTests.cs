using System.Diagnostics;
using TraceAgent.Configuration;
using TraceAgent.Export;
using TraceAgent.Instrumentation;
using TraceAgent.Loading;
using TraceAgent.Propagation;
using TraceAgent.Sampling;
using TraceAgent.Tracing;

namespace TraceAgent.Tests.Loading;

/// <summary>
/// The loader starts an instrumentation on whatever thread first loads its library, often inside
/// a request. What the instrumentation makes then (a timer, a thread) must not carry that
/// request's context for the life of the process.
/// </summary>
public sealed class LazyInstrumentationLoaderTests
{
    private static readonly AsyncLocal<string?> AppState = new();

    /// <summary>Started by the loader: a timer whose callback reports the context it runs in.</summary>
    public sealed class TimerInstrumentation : IInstrumentation
    {
        public static TaskCompletionSource<(Activity? Current, string? AppState)> Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IDisposable? Start(InstrumentationContext context) =>
            new Timer(static _ => Seen.TrySetResult((Activity.Current, AppState.Value)), null, 0, Timeout.Infinite);
    }

    [Fact]
    public async Task An_instrumentation_started_inside_a_request_keeps_none_of_the_requests_context()
    {
        var settings = AgentSettings.Load(new SettingsReader(new Dictionary<string, string>()), InstrumentationRegistry.Ids);
        var processor = new BatchSpanProcessor([], new BatchSettings(60_000, 30_000, 16, 16), 1000);
        using var pipeline = new TracingPipeline(Sampler.Create("always_on", 1), processor, new SourceMatcher([]));

        // Triggered by an assembly every process has loaded: the loader starts it at once.
        var descriptor = new InstrumentationDescriptor("TEST_TIMER", "System.Runtime", "TraceAgent.Tests", typeof(TimerInstrumentation).FullName!, [], _ => null);
        using var request = new Activity("GET /orders").Start();
        AppState.Value = "the request's HttpContext";
        using (var loader = new LazyInstrumentationLoader(settings, AgentPropagator.Create(["tracecontext"]), pipeline, AppContext.BaseDirectory, [descriptor], logs: null))
        {
            loader.Start();
            var (current, state) = await TimerInstrumentation.Seen.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Null(current);
            Assert.Null(state);
        }

        // The request itself goes on in its own context.
        Assert.Same(request, Activity.Current);
        Assert.Equal("the request's HttpContext", AppState.Value);
        processor.Shutdown(1000);
    }
}
