using TraceAgent.Configuration;
using TraceAgent.Logs;
using TraceAgent.Propagation;

namespace TraceAgent.Export;

/// <summary>
/// Encodes log records as an OTLP ExportLogsServiceRequest (opentelemetry-proto, collector/logs/v1
/// and logs/v1), one ScopeLogs per logger category. Field numbers are those of the specification.
/// </summary>
internal sealed class OtlpLogEncoder
{
    private readonly byte[] _resource;
    private readonly SpanLimits _limits;
    private readonly Dictionary<string, List<LogRecordData>> _byScope = new(StringComparer.Ordinal);

    public OtlpLogEncoder(IReadOnlyList<KeyValuePair<string, object>> resource, SpanLimits limits)
    {
        _resource = OtlpCommon.EncodeResource(resource);
        _limits = limits;
    }

    public void Encode(ProtoWriter writer, IReadOnlyList<LogRecordData> batch)
    {
        foreach (var list in _byScope.Values)
        {
            list.Clear();
        }

        for (var i = 0; i < batch.Count; i++)
        {
            var record = batch[i];
            if (!_byScope.TryGetValue(record.Category, out var list))
            {
                list = [];
                _byScope[record.Category] = list;
            }

            list.Add(record);
        }

        var resourceLogs = writer.BeginMessage(1); // ExportLogsServiceRequest.resource_logs = 1
        var resource = writer.BeginMessage(1); // ResourceLogs.resource = 1
        writer.WriteRaw(_resource);
        writer.EndMessage(resource);
        foreach (var (category, records) in _byScope)
        {
            if (records.Count == 0)
            {
                continue;
            }

            var scopeLogs = writer.BeginMessage(2); // ResourceLogs.scope_logs = 2
            var scope = writer.BeginMessage(1); // ScopeLogs.scope = 1
            writer.WriteStringField(1, category);
            writer.EndMessage(scope);
            foreach (var record in records)
            {
                WriteRecord(writer, record);
            }

            writer.EndMessage(scopeLogs);
        }

        writer.EndMessage(resourceLogs);

        // Categories are usually a fixed set; a process that makes them up must not grow this forever.
        if (_byScope.Count > 1024)
        {
            _byScope.Clear();
        }
    }

    private void WriteRecord(ProtoWriter writer, LogRecordData record)
    {
        var message = writer.BeginMessage(2); // ScopeLogs.log_records = 2
        var time = OtlpTraceEncoder.ToUnixNanos(record.TimestampUtc);
        writer.WriteFixed64Field(1, time); // time_unix_nano
        writer.WriteVarintField(2, (ulong)record.SeverityNumber); // severity_number
        writer.WriteStringField(3, record.SeverityText); // severity_text
        if (record.Body is not null)
        {
            var body = writer.BeginMessage(5); // body (AnyValue)
            writer.WriteStringField(1, record.Body);
            writer.EndMessage(body);
        }

        var count = 0;
        var dropped = 0;
        foreach (var attribute in record.Attributes)
        {
            if (attribute.Value is not null)
            {
                WriteAttribute(writer, attribute.Key, attribute.Value, ref count, ref dropped);
            }
        }

        if (record.Exception is { } exception)
        {
            WriteAttribute(writer, "exception.type", exception.GetType().FullName ?? exception.GetType().Name, ref count, ref dropped);
            WriteAttribute(writer, "exception.message", exception.Message, ref count, ref dropped);
            WriteAttribute(writer, "exception.stacktrace", exception.ToString(), ref count, ref dropped);
        }

        if (dropped > 0)
        {
            writer.WriteVarintField(7, (ulong)dropped); // dropped_attributes_count
        }

        if (record.TraceId != default && record.SpanId != default)
        {
            Span<byte> id = stackalloc byte[16];
            writer.WriteFixed32Field(8, (uint)record.TraceFlags); // flags: the W3C trace flags
            LowerHex.DecodeId(record.TraceId.ToHexString(), id);
            writer.WriteBytesField(9, id); // trace_id
            LowerHex.DecodeId(record.SpanId.ToHexString(), id[..8]);
            writer.WriteBytesField(10, id[..8]); // span_id
        }

        writer.WriteFixed64Field(11, time); // observed_time_unix_nano
        if (!string.IsNullOrEmpty(record.EventName))
        {
            writer.WriteStringField(12, record.EventName); // event_name
        }

        writer.EndMessage(message);
    }

    private void WriteAttribute(ProtoWriter writer, string key, object value, ref int count, ref int dropped)
    {
        if (count >= _limits.AttributeCountLimit)
        {
            dropped++;
            return;
        }

        if (OtlpCommon.WriteKeyValue(writer, 6, key, value, _limits.AttributeValueLengthLimit)) // attributes
        {
            count++;
        }
        else
        {
            dropped++;
        }
    }
}
