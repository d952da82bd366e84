using System.Diagnostics;
using System.Text;
using System.Text.Unicode;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>Messaging semantic-convention names for Kafka spans, and the few value rules.</summary>
internal static class KafkaSemantics
{
    public const string System = "messaging.system";
    public const string OperationType = "messaging.operation.type";
    public const string OperationName = "messaging.operation.name";
    public const string DestinationName = "messaging.destination.name";
    public const string PartitionId = "messaging.destination.partition.id";
    public const string Offset = "messaging.kafka.offset";
    public const string MessageKey = "messaging.kafka.message.key";
    public const string Tombstone = "messaging.kafka.message.tombstone";
    public const string ConsumerGroup = "messaging.consumer.group.name";
    public const string ClientId = "messaging.client.id";
    public const string ErrorType = "error.type";

    public const string Kafka = "kafka";
    public const string Send = "send";
    public const string Process = "process";

    /// <summary>The tombstone tag's value, boxed once.</summary>
    public static readonly object True = true;

    private const int MaxKeyBytes = 256;

    private static readonly string[] PartitionNames = Enumerable.Range(0, 64).Select(i => i.ToString(global::System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public static string Partition(int partition) =>
        partition >= 0 && partition < PartitionNames.Length
            ? PartitionNames[partition]
            : partition.ToString(global::System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The key as text when it looks like a string key. Below Confluent.Kafka's serializers only bytes
    /// are left, so "string key" means: at most 256 bytes of valid UTF-8 without control characters.
    /// A serialized int or long almost always has a zero or control byte and is skipped; a binary key
    /// that happens to read as printable text would be recorded (documented).
    /// </summary>
    public static unsafe string? KeyText(nint key, nuint length)
    {
        if (key == 0 || length == 0 || length > MaxKeyBytes)
        {
            return null;
        }

        var bytes = new ReadOnlySpan<byte>((void*)key, (int)length);
        foreach (byte b in bytes)
        {
            if (b < 0x20 || b == 0x7f)
            {
                return null;
            }
        }

        return Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : null;
    }

    public static void SetError(Activity activity, string errorType, string? description)
    {
        activity.SetStatus(ActivityStatusCode.Error, description);
        activity.SetTag(ErrorType, errorType);
    }
}
