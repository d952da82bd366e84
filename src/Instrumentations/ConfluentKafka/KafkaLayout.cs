using System.Reflection;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// What the instrumentation relies on inside Confluent.Kafka's internal <c>Librdkafka</c> class, per
/// range of versions: the private static delegate fields it replaces or reads, each with the
/// signature of its delegate type's <c>Invoke</c>, written as <c>Return(Param,...)</c> with short
/// type names. A version is used only when every entry of its layout matches exactly; anything else
/// (an older <c>_producev</c>-based release, a future rename) switches the instrumentation off with
/// one log line rather than guess.
/// </summary>
internal sealed record KafkaLayout(string Name, Version From, Version To, IReadOnlyDictionary<string, string> Fields)
{
    public const string LibrdkafkaType = "Confluent.Kafka.Impl.Librdkafka";
    public const string VuType = "Confluent.Kafka.Impl.rd_kafka_vu";
    public const string VuDataType = "Confluent.Kafka.Impl.vu_data";
    public const string VtypeType = "Confluent.Kafka.Impl.rd_kafka_vtype";

    // Read from the source at tags v1.9.3, v2.14.0, v2.15.0 and checked by reflection against the
    // 1.9.3, 2.14.0 and 2.16.0 packages: the fields below are identical across that range. 1.9.0
    // replaced rd_kafka_producev (field _producev) with rd_kafka_produceva.
    private static readonly IReadOnlyDictionary<string, string> ProducevaFields = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["_version"] = "IntPtr()",
        ["_produceva"] = "IntPtr(IntPtr,rd_kafka_vu*,IntPtr)",
        ["_consumer_poll"] = "IntPtr(IntPtr,IntPtr)",
        ["_consumer_close"] = "ErrorCode(IntPtr)",
        ["_commit"] = "ErrorCode(IntPtr,IntPtr,Boolean)",
        ["_commit_queue"] = "ErrorCode(IntPtr,IntPtr,IntPtr,CommitDelegate,IntPtr)",
        ["_destroy"] = "Void(IntPtr)",
        ["_destroy_flags"] = "Void(IntPtr,IntPtr)",
        ["_conf_set_dr_msg_cb"] = "Void(IntPtr,DeliveryReportDelegate)",
        ["_new"] = "SafeKafkaHandle(RdKafkaType,IntPtr,StringBuilder,UIntPtr)",
    };

    public static readonly IReadOnlyList<KafkaLayout> Known =
    [
        new("produceva (1.9.0 - 2.16.x)", new Version(1, 9, 0), new Version(2, 16, int.MaxValue), ProducevaFields),
    ];

    public static string Signature(Type delegateType)
    {
        var invoke = delegateType.GetMethod("Invoke");
        if (invoke is null)
        {
            return "(not a delegate)";
        }

        return invoke.ReturnType.Name + "(" + string.Join(",", invoke.GetParameters().Select(p => p.ParameterType.Name)) + ")";
    }

    /// <summary>The layout for this assembly, or null with the reason.</summary>
    public static KafkaLayout? Select(Assembly library, out string reason)
    {
        var version = library.GetName().Version ?? new Version(0, 0);
        var librdkafka = library.GetType(LibrdkafkaType, throwOnError: false);
        if (librdkafka is null)
        {
            reason = $"Confluent.Kafka {version} has no {LibrdkafkaType}";
            return null;
        }

        foreach (var layout in Known)
        {
            if (version < layout.From || version > layout.To)
            {
                continue;
            }

            if (layout.Matches(librdkafka, out reason))
            {
                return layout;
            }

            reason = $"Confluent.Kafka {version} does not have the expected {layout.Name} layout: {reason}";
            return null;
        }

        reason = $"Confluent.Kafka {version} is outside the supported versions ({string.Join(", ", Known.Select(l => l.Name))})";
        return null;
    }

    private bool Matches(Type librdkafka, out string reason)
    {
        foreach (var (name, expected) in Fields)
        {
            var field = librdkafka.GetField(name, BindingFlags.NonPublic | BindingFlags.Static);
            if (field is null)
            {
                reason = $"no field {name}";
                return false;
            }

            var actual = Signature(field.FieldType);
            if (!string.Equals(actual, expected, StringComparison.Ordinal))
            {
                reason = $"{name} is {actual}, expected {expected}";
                return false;
            }
        }

        reason = string.Empty;
        return true;
    }
}
