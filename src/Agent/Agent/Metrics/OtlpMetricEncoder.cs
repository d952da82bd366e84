using TraceAgent.Export;

namespace TraceAgent.Metrics;

/// <summary>One collection, as the exporters see it: the streams and which of their points were collected.</summary>
internal sealed class MetricsBatch
{
    public MetricsBatch(MetricStream[] streams, long epoch, ulong timeUnixNano, int points)
    {
        Streams = streams;
        Epoch = epoch;
        TimeUnixNano = timeUnixNano;
        Points = points;
    }

    public MetricStream[] Streams { get; }

    public long Epoch { get; }

    public ulong TimeUnixNano { get; }

    public int Points { get; }
}

/// <summary>
/// Encodes a collection as an OTLP ExportMetricsServiceRequest (opentelemetry-proto,
/// collector/metrics/v1 and metrics/v1), one ScopeMetrics per meter. Field numbers are those of the
/// specification; nothing is allocated per point.
/// </summary>
internal sealed class OtlpMetricEncoder
{
    private const ulong AggregationTemporalityDelta = 1;
    private const ulong AggregationTemporalityCumulative = 2;

    private readonly byte[] _resource;

    public OtlpMetricEncoder(IReadOnlyList<KeyValuePair<string, object>> resource)
    {
        _resource = OtlpCommon.EncodeResource(resource);
    }

    public void Encode(ProtoWriter writer, IReadOnlyList<MetricsBatch> batches)
    {
        foreach (var batch in batches)
        {
            Encode(writer, batch);
        }
    }

    private void Encode(ProtoWriter writer, MetricsBatch batch)
    {
        var resourceMetrics = writer.BeginMessage(1); // ExportMetricsServiceRequest.resource_metrics = 1
        var resource = writer.BeginMessage(1); // ResourceMetrics.resource = 1
        writer.WriteRaw(_resource);
        writer.EndMessage(resource);

        var streams = batch.Streams;
        var i = 0;
        while (i < streams.Length)
        {
            // Streams are sorted by scope: one ScopeMetrics per run of the same scope.
            var first = i;
            var any = false;
            while (i < streams.Length && streams[i].ScopeName == streams[first].ScopeName && streams[i].ScopeVersion == streams[first].ScopeVersion)
            {
                any |= streams[i].CollectedCount > 0;
                i++;
            }

            if (!any)
            {
                continue;
            }

            var scopeMetrics = writer.BeginMessage(2); // ResourceMetrics.scope_metrics = 2
            var scope = writer.BeginMessage(1); // ScopeMetrics.scope = 1
            writer.WriteStringField(1, streams[first].ScopeName);
            if (!string.IsNullOrEmpty(streams[first].ScopeVersion))
            {
                writer.WriteStringField(2, streams[first].ScopeVersion!);
            }

            writer.EndMessage(scope);
            for (var s = first; s < i; s++)
            {
                if (streams[s].CollectedCount > 0)
                {
                    WriteMetric(writer, streams[s], batch);
                }
            }

            writer.EndMessage(scopeMetrics);
        }

        writer.EndMessage(resourceMetrics);
    }

    private static void WriteMetric(ProtoWriter writer, MetricStream stream, MetricsBatch batch)
    {
        var metric = writer.BeginMessage(2); // ScopeMetrics.metrics = 2
        writer.WriteStringField(1, stream.Name);
        if (stream.Description.Length > 0)
        {
            writer.WriteStringField(2, stream.Description);
        }

        if (stream.Unit.Length > 0)
        {
            writer.WriteStringField(3, stream.Unit);
        }

        // Metric.gauge = 5, sum = 7, histogram = 9
        var field = stream.DataKind switch
        {
            MetricDataKind.Gauge => 5,
            MetricDataKind.Sum => 7,
            _ => 9,
        };
        var data = writer.BeginMessage(field);
        var points = stream.Series.Points(out var count);
        for (var p = 0; p < count; p++)
        {
            var point = points[p];
            if (point.CollectedEpoch != batch.Epoch)
            {
                continue;
            }

            if (stream.DataKind == MetricDataKind.Histogram)
            {
                WriteHistogramPoint(writer, point, stream.Bounds, batch.TimeUnixNano);
            }
            else
            {
                WriteNumberPoint(writer, stream, point, batch.TimeUnixNano);
            }
        }

        if (stream.DataKind != MetricDataKind.Gauge)
        {
            writer.WriteVarintField(2, stream.Delta ? AggregationTemporalityDelta : AggregationTemporalityCumulative); // aggregation_temporality
        }

        if (stream.DataKind == MetricDataKind.Sum && stream.IsMonotonic)
        {
            writer.WriteBoolField(3, true); // Sum.is_monotonic
        }

        writer.EndMessage(data);
        writer.EndMessage(metric);
    }

    private static void WriteNumberPoint(ProtoWriter writer, MetricStream stream, MetricPoint point, ulong time)
    {
        var message = writer.BeginMessage(1); // data_points = 1
        WriteAttributes(writer, 7, point.Attributes); // NumberDataPoint.attributes = 7
        if (stream.DataKind != MetricDataKind.Gauge)
        {
            writer.WriteFixed64Field(2, point.CollectedStartTime); // start_time_unix_nano
        }

        writer.WriteFixed64Field(3, time); // time_unix_nano
        if (stream.IsInteger)
        {
            writer.WriteFixed64Field(6, unchecked((ulong)point.CollectedLong)); // as_int (sfixed64)
        }
        else
        {
            writer.WriteDoubleField(4, point.CollectedDouble); // as_double
        }

        writer.EndMessage(message);
    }

    private static void WriteHistogramPoint(ProtoWriter writer, MetricPoint point, double[] bounds, ulong time)
    {
        var message = writer.BeginMessage(1); // data_points = 1
        WriteAttributes(writer, 9, point.Attributes); // HistogramDataPoint.attributes = 9
        writer.WriteFixed64Field(2, point.CollectedStartTime);
        writer.WriteFixed64Field(3, time);
        writer.WriteFixed64Field(4, (ulong)point.CollectedCount); // count
        writer.WriteDoubleField(5, point.CollectedSum); // sum

        // bucket_counts = 6 (packed fixed64), explicit_bounds = 7 (packed double)
        var buckets = point.CollectedBuckets;
        writer.WriteTag(6, 2);
        writer.WriteVarint((ulong)buckets.Length * 8);
        foreach (var n in buckets)
        {
            WriteFixed64(writer, (ulong)n);
        }

        if (bounds.Length > 0)
        {
            writer.WriteTag(7, 2);
            writer.WriteVarint((ulong)bounds.Length * 8);
            foreach (var b in bounds)
            {
                WriteFixed64(writer, BitConverter.DoubleToUInt64Bits(b));
            }
        }

        Span<byte> id = stackalloc byte[16];
        for (var e = 0; e < point.CollectedExemplarCount; e++)
        {
            ref readonly var exemplar = ref point.CollectedExemplars[e];
            var ex = writer.BeginMessage(8); // HistogramDataPoint.exemplars = 8
            writer.WriteFixed64Field(2, exemplar.TimeUnixNano); // Exemplar.time_unix_nano
            writer.WriteDoubleField(3, exemplar.Value); // Exemplar.as_double
            if (exemplar.HasContext)
            {
                exemplar.CopySpanId(id);
                writer.WriteBytesField(4, id[..8]); // Exemplar.span_id
                exemplar.CopyTraceId(id);
                writer.WriteBytesField(5, id); // Exemplar.trace_id
            }

            writer.EndMessage(ex);
        }

        if (point.CollectedCount > 0)
        {
            writer.WriteDoubleField(11, point.CollectedMin); // min
            writer.WriteDoubleField(12, point.CollectedMax); // max
        }

        writer.EndMessage(message);
    }

    private static void WriteFixed64(ProtoWriter writer, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        writer.WriteRaw(bytes);
    }

    private static void WriteAttributes(ProtoWriter writer, int field, KeyValuePair<string, object?>[] attributes)
    {
        foreach (var attribute in attributes)
        {
            if (attribute.Value is not null)
            {
                OtlpCommon.WriteKeyValue(writer, field, attribute.Key, attribute.Value, null);
            }
        }
    }
}
