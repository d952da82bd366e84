using System.Diagnostics;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Propagation;

// Inject runs for every outgoing request. For traceparent and the B3 multi headers every string
// already exists (the Activity's Id and the ids' hex strings), so nothing should be allocated.
public sealed class InjectAllocationTests
{
    private const int Operations = 1000;

    [Theory]
    [InlineData("tracecontext")]
    [InlineData("b3multi")]
    [InlineData("tracecontext,baggage")]
    public void InjectWithoutBaggageDoesNotAllocate(string names)
    {
        AgentPropagator propagator = AgentPropagator.Create(names.Split(','));
        DistributedContextPropagator.PropagatorSetterCallback setter = static (_, _, _) => { };
        using var activity = new Activity("allocation");
        activity.SetIdFormat(ActivityIdFormat.W3C);
        // As the agent's listener leaves an outgoing call's span: sampled, and marked random
        // (W3C Level 2) before its Id is built, so the cached Id is the header to send.
        activity.ActivityTraceFlags = ActivityTraceFlags.Recorded | (ActivityTraceFlags)0x02;
        activity.Start();
        for (int i = 0; i < Operations; i++)
        {
            propagator.Inject(activity, null, setter);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Operations; i++)
        {
            propagator.Inject(activity, null, setter);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // A few bytes of slack over all operations for one-off runtime work, not per operation.
        Assert.True(allocated < 8 * Operations / 10, $"{allocated} bytes for {Operations} injections");
    }
}
