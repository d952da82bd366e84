using System.Diagnostics.Metrics;
using TraceAgent.Metrics;

namespace TraceAgent.Tests.Metrics;

/// <summary>
/// The System.Runtime meter the agent makes on .NET 8 against the one this runtime (.NET 10) makes
/// itself: the same instruments, units and kinds, so dashboards read both alike.
/// </summary>
public sealed class Net8RuntimeMeterTests
{
    [Fact]
    public void The_agents_runtime_meter_has_the_instruments_units_and_kinds_of_the_runtimes_own()
    {
        var agentMeter = Net8RuntimeMeter.Create();
        try
        {
            var runtime = new Dictionary<string, (string? Unit, string Kind)>();
            var agent = new Dictionary<string, (string? Unit, string Kind)>();
            var agentValues = new Dictionary<string, double>();
            using var listener = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Name != "System.Runtime")
                    {
                        return;
                    }

                    var kind = instrument.GetType().GetGenericTypeDefinition().Name;
                    if (ReferenceEquals(instrument.Meter, agentMeter))
                    {
                        agent[instrument.Name] = (instrument.Unit, kind);
                        l.EnableMeasurementEvents(instrument);
                    }
                    else
                    {
                        runtime[instrument.Name] = (instrument.Unit, kind);
                    }
                },
            };
            listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => agentValues[instrument.Name] = agentValues.GetValueOrDefault(instrument.Name) + value);
            listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => agentValues[instrument.Name] = agentValues.GetValueOrDefault(instrument.Name) + value);
            listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => agentValues[instrument.Name] = agentValues.GetValueOrDefault(instrument.Name) + value);
            listener.Start();
            listener.RecordObservableInstruments();

            Assert.NotEmpty(runtime);
            Assert.Equal(runtime.Keys.Order(), agent.Keys.Order());
            foreach (var (name, (unit, kind)) in runtime)
            {
                Assert.True(agent[name].Unit == unit, $"{name}: unit {agent[name].Unit}, the runtime's {unit}");

                // .NET 9 published the thread pool's thread count and queue length as counters; later
                // runtimes as up-down counters, as the conventions say. The agent follows the conventions.
                if (name is not "dotnet.thread_pool.thread.count" and not "dotnet.thread_pool.queue.length")
                {
                    Assert.True(agent[name].Kind == kind, $"{name}: {agent[name].Kind}, the runtime's {kind}");
                }
            }

            Assert.True(agentValues["dotnet.gc.heap.total_allocated"] > 0);
            Assert.True(agentValues["dotnet.process.cpu.time"] > 0);
            Assert.True(agentValues["dotnet.assembly.count"] > 10);
            Assert.Equal(Environment.ProcessorCount, agentValues["dotnet.process.cpu.count"]);
        }
        finally
        {
            agentMeter.Dispose();
        }
    }

    [Fact]
    public void Only_runtimes_before_net9_need_it()
    {
        Assert.False(Net8RuntimeMeter.Needed);
    }
}
