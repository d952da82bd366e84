using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using TraceAgent.Diagnostics;
using TraceAgent.Propagation;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// Producer side. Every Produce/ProduceAsync overload of every producer ends in one call of
/// <c>Librdkafka._produceva(rk, vus, count)</c>, where <c>vus</c> is Confluent's stack array of
/// (type, value) pairs: topic, partition, flags, value, key, timestamp, headers list, opaque. The shim
/// starts the Producer span, writes the propagators' headers into that headers list (creating the
/// list when the app sent none, and removing any header of the same name first), and, when the
/// client has delivery reports, swaps the message's opaque for an agent token so the delivery report
/// finds the span; the report callback puts the app's opaque back before Confluent reads it.
/// </summary>
internal sealed unsafe class ProducerShims
{
    private static long s_nextToken = -1;

    private readonly KafkaTracing _tracing;
    private readonly VuLayout _vu;
    private readonly Func<nint, nint, nint, nint> _produce;
    private readonly Action<nint, Delegate> _setDeliveryCallback;
    private readonly Func<int, nint, StringBuilder, nuint, object?> _newHandle;
    private readonly Type _deliveryDelegateType;

    // Spans waiting for their delivery report, by the token put in the message's opaque. Tokens are
    // odd, so they can never equal the opaque Confluent itself uses (a GCHandle, pointer-aligned) or 0.
    private readonly ConcurrentDictionary<nint, InFlight> _inFlight = new();

    public ProducerShims(KafkaTracing tracing, VuLayout vu, Delegate produce, Delegate setDeliveryCallback, Delegate newHandle)
    {
        _tracing = tracing;
        _vu = vu;
        _produce = DelegateAdapter.Invoker<Func<nint, nint, nint, nint>>(produce);
        _setDeliveryCallback = DelegateAdapter.Invoker<Action<nint, Delegate>>(setDeliveryCallback);
        _newHandle = DelegateAdapter.Invoker<Func<int, nint, StringBuilder, nuint, object?>>(newHandle);
        _deliveryDelegateType = setDeliveryCallback.GetType().GetMethod("Invoke")!.GetParameters()[1].ParameterType;
    }

    public int InFlightCount => _inFlight.Count;

    // --- rd_kafka_produceva -------------------------------------------------------------------

    public nint Produce(nint rk, nint vus, nint count)
    {
        var scope = new ProduceScope();
        try
        {
            BeforeProduce(rk, vus, (int)count, ref scope);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("kafka produce", ex);
        }

        nint error = _produce(rk, vus, count);
        if (scope.Activity is not null || scope.CreatedHeaders != 0)
        {
            try
            {
                AfterProduce(error, ref scope);
            }
            catch (Exception ex)
            {
                AgentFaults.Report("kafka produce", ex);
            }
        }

        return error;
    }

    private void BeforeProduce(nint rk, nint vus, int count, ref ProduceScope scope)
    {
        nint topicPointer = 0, keyPointer = 0, valuePointer = 0;
        nuint keyLength = 0;
        int partition = -1;
        nint* headersSlot = null;
        nint* opaqueSlot = null;
        for (int i = 0; i < count; i++)
        {
            byte* entry = (byte*)vus + (i * _vu.Size);
            int type = *(int*)entry;
            byte* data = entry + _vu.DataOffset;
            if (type == _vu.Topic)
            {
                topicPointer = *(nint*)data;
            }
            else if (type == _vu.Partition)
            {
                partition = *(int*)data;
            }
            else if (type == _vu.Value)
            {
                valuePointer = *(nint*)data;
            }
            else if (type == _vu.Key)
            {
                keyPointer = *(nint*)data;
                keyLength = *(nuint*)(data + sizeof(nint));
            }
            else if (type == _vu.Headers)
            {
                headersSlot = (nint*)data;
            }
            else if (type == _vu.Opaque)
            {
                opaqueSlot = (nint*)data;
            }
        }

        if (topicPointer == 0 || headersSlot is null)
        {
            return;
        }

        var topic = _tracing.ProducedTopic((byte*)topicPointer);
        if (topic.Excluded)
        {
            return;
        }

        var client = _tracing.Clients.Get(rk);
        var previous = Activity.Current;
        var tags = KafkaTracing.RentTags();
        try
        {
            tags.Add(new(KafkaSemantics.System, KafkaSemantics.Kafka));
            tags.Add(new(KafkaSemantics.OperationType, KafkaSemantics.Send));
            tags.Add(new(KafkaSemantics.OperationName, KafkaSemantics.Send));
            tags.Add(new(KafkaSemantics.DestinationName, topic.Name));
            if (partition >= 0)
            {
                tags.Add(new(KafkaSemantics.PartitionId, KafkaSemantics.Partition(partition)));
            }

            if (KafkaSemantics.KeyText(keyPointer, keyLength) is { } key)
            {
                tags.Add(new(KafkaSemantics.MessageKey, key));
            }

            if (valuePointer == 0)
            {
                tags.Add(new(KafkaSemantics.Tombstone, KafkaSemantics.True));
            }

            if (client.Name is not null)
            {
                tags.Add(new(KafkaSemantics.ClientId, client.Name));
            }

            // A default parent context: the parent is Activity.Current, as with no context given.
            scope.Activity = KafkaTracing.Source.StartActivity(topic.SendSpanName, ActivityKind.Producer, default(ActivityContext), tags);
        }
        finally
        {
            KafkaTracing.ReturnTags(tags);
        }

        var activity = scope.Activity;
        try
        {
            // The span's context, or, when it was not created (not sampled, no listener), the
            // caller's, so the consumer still joins the caller's trace.
            var source = activity ?? previous;
            uint written = 0;
            List<NativeHeader>? appHeaders = null;
            if (source is not null && source.IdFormat == ActivityIdFormat.W3C && _tracing.FieldNames.Length > 0)
            {
                appHeaders = SnapshotIfConflicting(*headersSlot);
                var writer = HeaderWriter.For(_tracing, headersSlot);
                if (!writer.TryWriteTraceParentOnly(source))
                {
                    _tracing.Propagator.Inject(source.Context, source.Baggage, writer, HeaderWriter.Set);
                }

                scope.CreatedHeaders = writer.Created;
                written = writer.Written;
                writer.Clear();
            }

            bool injected = written != 0;

            // With a delivery report to come, the message carries a token instead of its opaque: the
            // report ends the span and undoes the header changes before Confluent sees it.
            if ((activity is not null || injected) && opaqueSlot is not null && client.TracksDelivery)
            {
                nint token = (nint)Interlocked.Add(ref s_nextToken, 2);
                _inFlight[token] = new InFlight(activity, *opaqueSlot, rk, written, appHeaders);
                *opaqueSlot = token;
                scope.Token = token;
            }
        }
        finally
        {
            // The span ends later, on the delivery-report thread; the caller's context stays its own.
            if (!ReferenceEquals(Activity.Current, previous))
            {
                Activity.Current = previous;
            }
        }
    }

    private void AfterProduce(nint error, ref ProduceScope scope)
    {
        var activity = scope.Activity;
        if (error != 0)
        {
            // Not enqueued: librdkafka took nothing. Confluent destroys the headers list it made; the
            // one the agent made is the agent's to free. Confluent then throws ProduceException.
            if (scope.CreatedHeaders != 0)
            {
                _tracing.Native.HeadersDestroy(scope.CreatedHeaders);
            }

            if (scope.Token != 0)
            {
                _inFlight.TryRemove(scope.Token, out _);
            }

            if (activity is not null)
            {
                KafkaSemantics.SetError(activity, ((ErrorCode)_tracing.Native.ErrorCode(error)).ToString(), "produce failed");
                KafkaTracing.Stop(activity, Activity.Current);
            }
        }
        else if (activity is not null && scope.Token == 0)
        {
            // No delivery report will come for this message (delivery reports off, or only for
            // errors): the span ends once the message is queued.
            KafkaTracing.Stop(activity, Activity.Current);
        }
    }

    // --- delivery reports ---------------------------------------------------------------------

    /// <summary>Replaces Confluent's callback with the agent's wrapper (rd_kafka_conf_set_dr_msg_cb).</summary>
    public void SetDeliveryCallback(nint conf, Delegate callback)
    {
        Delegate toSet = callback;
        try
        {
            if (callback is not null)
            {
                var wrapper = new DeliveryCallback(this, callback, _deliveryDelegateType);
                KafkaClients.SetPendingDelivery(conf, wrapper);
                toSet = wrapper.Native;
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("kafka delivery callback", ex);
            toSet = callback!;
        }

        _setDeliveryCallback(conf, toSet);
    }

    /// <summary>rd_kafka_new: learns the client's name, group and delivery-report wiring.</summary>
    public object? NewHandle(int type, nint conf, StringBuilder errstr, nuint errstrSize)
    {
        DeliveryCallback? delivery = null;
        string? groupId = null;
        bool reportsEveryMessage = true;
        try
        {
            delivery = KafkaClients.TakePendingDelivery(conf);
            if (type == 1)
            {
                groupId = _tracing.Native.ConfGet(conf, "group.id");
            }

            if (delivery is not null)
            {
                reportsEveryMessage = !string.Equals(_tracing.Native.ConfGet(conf, "delivery.report.only.error"), "true", StringComparison.OrdinalIgnoreCase);
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("kafka client creation", ex);
        }

        object? handle = _newHandle(type, conf, errstr, errstrSize);
        try
        {
            if (handle is SafeHandle safeHandle && !safeHandle.IsInvalid)
            {
                nint rk = safeHandle.DangerousGetHandle();
                _tracing.Clients.Add(new KafkaClient(rk, _tracing.Native.Name(rk), groupId, delivery, delivery is not null && reportsEveryMessage));
            }
        }
        catch (Exception ex)
        {
            AgentFaults.Report("kafka client creation", ex);
        }

        return handle;
    }

    public void OnDelivery(nint message)
    {
        var m = (RdKafkaMessage*)message;
        nint token = m->Private;
        if ((token & 1) == 0 || !_inFlight.TryRemove(token, out var inFlight))
        {
            return;
        }

        m->Private = inFlight.Opaque;

        // Confluent reads a report's headers only for a message that has a delivery handler (a
        // non-zero opaque: ProduceAsync, or Produce with a handler); fire-and-forget reports it drops.
        if (inFlight.Written != 0 && inFlight.Opaque != 0)
        {
            RestoreAppHeaders(message, inFlight.Written, inFlight.AppHeaders);
        }

        var activity = inFlight.Activity;
        if (activity is null)
        {
            return;
        }

        if (activity.IsAllDataRequested)
        {
            if (m->Partition >= 0)
            {
                activity.SetTag(KafkaSemantics.PartitionId, KafkaSemantics.Partition(m->Partition));
            }

            if (m->Err == 0)
            {
                if (m->Offset >= 0)
                {
                    activity.AddTag(KafkaSemantics.Offset, m->Offset);
                }
            }
            else
            {
                KafkaSemantics.SetError(activity, ((ErrorCode)m->Err).ToString(), "delivery failed");
            }
        }

        KafkaTracing.Stop(activity, Activity.Current);
    }

    /// <summary>
    /// After rd_kafka_destroy has returned no delivery report can come any more: spans still waiting
    /// (messages purged, or reports never polled) end now, without a delivery status.
    /// </summary>
    public void OnDestroyed(nint rk)
    {
        if (_inFlight.IsEmpty)
        {
            return;
        }

        foreach (var (token, inFlight) in _inFlight)
        {
            if (inFlight.Handle == rk && _inFlight.TryRemove(token, out _) && inFlight.Activity is not null)
            {
                KafkaTracing.Stop(inFlight.Activity, Activity.Current);
            }
        }
    }

    /// <summary>
    /// The app's headers, in order, when one of them has a propagator's name (the agent's header
    /// replaces it on the wire); null otherwise, the common case, which costs one scan.
    /// </summary>
    private List<NativeHeader>? SnapshotIfConflicting(nint headers)
    {
        if (headers == 0)
        {
            return null;
        }

        var native = _tracing.Native;
        bool conflict = false;
        for (int i = 0; !conflict && native.HeaderGetAll(headers, i, out byte* name, out _, out _) == 0; i++)
        {
            conflict = _tracing.IsFieldName(name);
        }

        if (!conflict)
        {
            return null;
        }

        var snapshot = new List<NativeHeader>();
        for (int i = 0; native.HeaderGetAll(headers, i, out byte* name, out byte* value, out nuint size) == 0; i++)
        {
            var nameBytes = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name);
            var copy = new byte[nameBytes.Length + 1];
            nameBytes.CopyTo(copy);
            snapshot.Add(new NativeHeader(copy, value == null ? null : new ReadOnlySpan<byte>(value, (int)size).ToArray()));
        }

        return snapshot;
    }

    /// <summary>
    /// Delivery reports carry the message's headers (Confluent reads them into DeliveryResult): the
    /// agent's are taken out again, and where the app had its own header of such a name, the app's
    /// list is put back as it was, in order, so the report is what it would be without the agent.
    /// </summary>
    private void RestoreAppHeaders(nint message, uint written, List<NativeHeader>? appHeaders)
    {
        var native = _tracing.Native;
        nint headers = native.MessageHeaders(message);
        if (headers == 0)
        {
            return;
        }

        // Only the names the agent wrote: an app header of another propagator name was left as it
        // was, and if there is one, appHeaders puts the app's whole list back below anyway.
        byte[][] fields = _tracing.FieldNames;
        for (int i = 0; i < fields.Length; i++)
        {
            if ((written & HeaderWriter.Bit(i)) != 0)
            {
                fixed (byte* name = fields[i])
                {
                    native.HeaderRemove(headers, name);
                }
            }
        }

        if (appHeaders is null)
        {
            return;
        }

        foreach (var header in appHeaders)
        {
            fixed (byte* name = header.Name)
            {
                native.HeaderRemove(headers, name);
            }
        }

        byte empty = 0;
        foreach (var header in appHeaders)
        {
            fixed (byte* name = header.Name)
            fixed (byte* value = header.Value)
            {
                // fixed yields null for an empty array; an empty value is not a null value.
                byte* pointer = header.Value is { Length: 0 } ? &empty : value;
                native.HeaderAdd(headers, name, pointer, header.Value?.Length ?? 0);
            }
        }
    }

    private struct ProduceScope
    {
        public Activity? Activity;
        public nint CreatedHeaders;
        public nint Token;
    }

    /// <summary>A span waiting for its delivery report; <c>Written</c> has a bit per propagator field the agent wrote.</summary>
    private sealed record InFlight(Activity? Activity, nint Opaque, nint Handle, uint Written, List<NativeHeader>? AppHeaders);

    private sealed record NativeHeader(byte[] Name, byte[]? Value);

    /// <summary>
    /// The propagator's setter target: the message's native headers list. A header the propagator
    /// writes replaces every header of that name the app set (rd_kafka_header_remove); the app's
    /// other headers are left as they are.
    /// </summary>
    private sealed class HeaderWriter
    {
        public static readonly Action<HeaderWriter, string, string> Set = static (writer, name, value) => writer.Write(name, value);

        // A name outside the propagator's fields (none today) sets every bit: all fields are removed again.
        private const uint UnknownField = uint.MaxValue;

#pragma warning disable IDE1006 // [ThreadStatic] fields are t_camelCase (docs/contributing.md)
        [ThreadStatic]
        private static HeaderWriter? t_instance;
#pragma warning restore IDE1006

        private KafkaTracing? _tracing;
        private nint* _slot;

        public nint Created { get; private set; }

        /// <summary>A bit per field written (<see cref="Bit"/> of its index in KafkaTracing.FieldNames).</summary>
        public uint Written { get; private set; }

        public static uint Bit(int fieldIndex) => fieldIndex < 32 ? 1u << fieldIndex : UnknownField;

        public static HeaderWriter For(KafkaTracing tracing, nint* slot)
        {
            var writer = t_instance ??= new HeaderWriter();
            writer._tracing = tracing;
            writer._slot = slot;
            writer.Created = 0;
            writer.Written = 0;
            return writer;
        }

        public void Clear()
        {
            _tracing = null;
            _slot = null;
        }

        /// <summary>
        /// With only W3C trace context (and baggage) configured, a span without trace state or baggage
        /// propagates as one traceparent header, exactly as the propagator formats it
        /// ("00-{trace id}-{span id}-{flags}"): written here from the span's ids into a stack buffer,
        /// with no string made. Anything else goes through the propagator.
        /// </summary>
        public bool TryWriteTraceParentOnly(Activity source)
        {
            var tracing = _tracing!;
            if (!tracing.OnlyTraceContext || !string.IsNullOrEmpty(source.TraceStateString))
            {
                return false;
            }

            // Activity.Baggage is an empty array when no span in the chain has baggage.
            if (tracing.HasBaggageField && source.Baggage is not ICollection<KeyValuePair<string, string?>> { Count: 0 })
            {
                return false;
            }

            string traceId = source.TraceId.ToHexString();
            string spanId = source.SpanId.ToHexString();
            if (traceId.Length != 32 || spanId.Length != 16)
            {
                return false;
            }

            Span<byte> value = stackalloc byte[55];
            value[0] = (byte)'0';
            value[1] = (byte)'0';
            value[2] = (byte)'-';
            for (int i = 0; i < 32; i++)
            {
                value[3 + i] = (byte)traceId[i];
            }

            value[35] = (byte)'-';
            for (int i = 0; i < 16; i++)
            {
                value[36 + i] = (byte)spanId[i];
            }

            value[52] = (byte)'-';
            value[53] = (byte)'0';
            // Sampled (0x01) and, W3C Level 2, random trace id (0x02): the two flags version 00 defines.
            value[54] = (byte)('0' + AgentPropagator.TraceFlagsOf(source));
            WriteField(tracing.TraceParentIndex, value);
            return true;
        }

        private void Write(string name, string value)
        {
            int length = Encoding.UTF8.GetByteCount(value);
            Span<byte> valueBytes = length <= 512 ? stackalloc byte[length] : new byte[length];
            Encoding.UTF8.GetBytes(value, valueBytes);
            WriteField(Array.IndexOf(_tracing!.FieldNameStrings, name), valueBytes, name);
        }

        private void WriteField(int fieldIndex, ReadOnlySpan<byte> value, string? name = null)
        {
            var tracing = _tracing!;
            var native = tracing.Native;
            nint headers = *_slot;
            if (headers == 0)
            {
                headers = native.HeadersNew(4);
                if (headers == 0)
                {
                    return;
                }

                Created = headers;
                *_slot = headers;
            }

            byte[] nameBytes = fieldIndex >= 0 ? tracing.FieldNames[fieldIndex] : tracing.HeaderName(name!);
            fixed (byte* namePointer = nameBytes)
            fixed (byte* valuePointer = value)
            {
                if (Created != headers)
                {
                    native.HeaderRemove(headers, namePointer);
                }

                native.HeaderAdd(headers, namePointer, valuePointer, value.Length);
                Written |= fieldIndex >= 0 ? Bit(fieldIndex) : UnknownField;
            }
        }
    }
}

/// <summary>
/// The agent's stand-in for Confluent's delivery-report callback: an instance of Confluent's own
/// delegate type (so librdkafka gets a Cdecl function pointer, as before) that ends the span and
/// restores the message's opaque, then calls Confluent's callback with everything as it was.
/// </summary>
internal sealed class DeliveryCallback
{
    private readonly ProducerShims _owner;
    private readonly Delegate _original;
    private readonly Action<nint, nint, nint> _invokeOriginal;

    public DeliveryCallback(ProducerShims owner, Delegate original, Type delegateType)
    {
        _owner = owner;
        _original = original;
        _invokeOriginal = DelegateAdapter.Invoker<Action<nint, nint, nint>>(original);
        Native = Delegate.CreateDelegate(delegateType, this, typeof(DeliveryCallback).GetMethod(nameof(OnDelivery))!);
    }

    /// <summary>The delegate handed to librdkafka; rooted by this object, itself rooted by the client.</summary>
    public Delegate Native { get; }

    public void OnDelivery(nint rk, nint message, nint opaque)
    {
        try
        {
            _owner.OnDelivery(message);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("kafka delivery report", ex);
        }

        GC.KeepAlive(_original);
        _invokeOriginal(rk, message, opaque);
    }
}

/// <summary>Where things are in Confluent's rd_kafka_vu array (read from its types at start-up).</summary>
internal sealed record VuLayout(int Size, int DataOffset, int Topic, int Partition, int Value, int Key, int Opaque, int Headers);
