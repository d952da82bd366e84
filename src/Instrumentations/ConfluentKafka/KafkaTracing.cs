using System.Diagnostics;
using System.Text;
using TraceAgent.Configuration;
using TraceAgent.Http;
using TraceAgent.Propagation;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>What the producer and consumer shims share: the source, settings, propagator and native calls.</summary>
internal sealed class KafkaTracing
{
    public const string SourceName = "TraceAgent.ConfluentKafka";

    public static readonly ActivitySource Source = new(SourceName);

    private readonly GlobPattern _excluded;
    private readonly Dictionary<string, byte[]> _fieldNames;

    public KafkaTracing(NativeRdKafka native, KafkaClients clients, AgentPropagator propagator, KafkaSettings settings)
    {
        Native = native;
        Clients = clients;
        Propagator = propagator;
        LinkOnly = settings.ConsumerMode == KafkaConsumerMode.Link;
        _excluded = new GlobPattern(settings.ExcludedTopics);
        _fieldNames = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string field in propagator.Fields)
        {
            _fieldNames[field] = NulTerminated(field);
        }

        FieldNames = _fieldNames.Values.ToArray();
    }

    public NativeRdKafka Native { get; }

    public KafkaClients Clients { get; }

    public AgentPropagator Propagator { get; }

    public bool LinkOnly { get; }

    /// <summary>The propagators' header names, UTF-8 and NUL-terminated.</summary>
    public byte[][] FieldNames { get; }

    public unsafe bool IsFieldName(byte* name)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name);
        foreach (byte[] field in FieldNames)
        {
            if (bytes.SequenceEqual(field.AsSpan(0, field.Length - 1)))
            {
                return true;
            }
        }

        return false;
    }

    public bool IsExcluded(string topic) => !_excluded.IsEmpty && _excluded.Matches(topic);

    public byte[] HeaderName(string name) => _fieldNames.TryGetValue(name, out var bytes) ? bytes : NulTerminated(name);

    /// <summary>
    /// Stops <paramref name="activity"/> and leaves Activity.Current as <paramref name="current"/>:
    /// Activity.Stop resets Current to what was current when the activity started, which on a
    /// librdkafka callback thread or another consumer's thread would be someone else's context.
    /// </summary>
    public static void Stop(Activity activity, Activity? current)
    {
        activity.Stop();
        if (!ReferenceEquals(Activity.Current, current))
        {
            Activity.Current = current;
        }
    }

    private static byte[] NulTerminated(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
