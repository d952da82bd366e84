using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using TraceAgent.Propagation;

namespace TraceAgent.Benchmarks;

/// <summary>
/// Inject and extract of W3C trace context and baggage through the agent's propagator, beside the
/// runtime's own default propagator (what an app without the agent uses).
/// </summary>
[MemoryDiagnoser]
public class PropagatorBenchmarks
{
    private static readonly DistributedContextPropagator.PropagatorSetterCallback Setter = static (carrier, name, value) => ((Dictionary<string, string>)carrier!)[name] = value;
    private static readonly DistributedContextPropagator.PropagatorGetterCallback Getter = static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
    {
        values = null;
        ((Dictionary<string, string>)carrier!).TryGetValue(name, out value);
    };

    private readonly DistributedContextPropagator _runtime = DistributedContextPropagator.CreateDefaultPropagator();
    private readonly AgentPropagator _agent = AgentPropagator.Create(["tracecontext", "baggage"]);
    private readonly Dictionary<string, string> _outgoing = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _incoming = new(StringComparer.OrdinalIgnoreCase)
    {
        ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ["tracestate"] = "congo=t61rcWkgMzE",
        ["baggage"] = "userId=alice,serverNode=DF%2028",
    };

    private Activity? _activity;

    [GlobalSetup]
    public void Setup()
    {
        _activity = new Activity("parent").SetIdFormat(ActivityIdFormat.W3C);
        _activity.SetParentId("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        _activity.AddBaggage("userId", "alice");
        _activity.Start();
        Activity.Current = null;
    }

    [Benchmark(Baseline = true, Description = "inject, runtime default propagator")]
    public int InjectRuntime()
    {
        _outgoing.Clear();
        _runtime.Inject(_activity, _outgoing, Setter);
        return _outgoing.Count;
    }

    [Benchmark(Description = "inject, agent propagator")]
    public int InjectAgent()
    {
        _outgoing.Clear();
        _agent.Inject(_activity, _outgoing, Setter);
        return _outgoing.Count;
    }

    [Benchmark(Description = "extract, runtime default propagator")]
    public int ExtractRuntime() => Extract(_runtime);

    [Benchmark(Description = "extract, agent propagator")]
    public int ExtractAgent() => Extract(_agent);

    // What ASP.NET Core's hosting does with an incoming request: trace id and state, then baggage.
    private int Extract(DistributedContextPropagator propagator)
    {
        propagator.ExtractTraceIdAndState(_incoming, Getter, out var traceParent, out var traceState);
        var baggage = propagator.ExtractBaggage(_incoming, Getter);
        int count = 0;
        if (baggage is not null)
        {
            foreach (var _ in baggage)
            {
                count++;
            }
        }

        return count + (ActivityContext.TryParse(traceParent, traceState, isRemote: true, out _) ? 1 : 0);
    }
}
