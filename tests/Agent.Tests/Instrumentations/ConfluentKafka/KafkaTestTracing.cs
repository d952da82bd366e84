using System.Reflection;
using Confluent.Kafka;
using TraceAgent.Configuration;
using TraceAgent.Instrumentation.ConfluentKafka;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Instrumentations.ConfluentKafka;

/// <summary>The Kafka instrumentation bound to the real librdkafka this test process loads, as the agent binds it.</summary>
internal static class KafkaTestTracing
{
    public static KafkaTracing Create()
    {
        var library = typeof(Library).Assembly;
        Library.Load();
        var librdkafka = library.GetType(KafkaLayout.LibrdkafkaType, throwOnError: true)!;
        var version = (Delegate)librdkafka.GetField("_version", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        var native = NativeRdKafka.Bind(library, version);
        return new KafkaTracing(native, new KafkaClients(native), AgentPropagator.Create(["tracecontext", "baggage"]), new KafkaSettings(KafkaConsumerMode.Parent, []));
    }
}
