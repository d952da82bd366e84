using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using TraceAgent.Diagnostics;
using TraceAgent.Tracing;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// Producer side. Every Produce/ProduceAsync overload of every producer ends in one call of
/// <c>Librdkafka._produceva(rk, vus, count)</c> (read by <see cref="ProduceArguments"/>). The shim
/// starts the Producer span, has <see cref="ProducerHeaderWriter"/> write the propagators' headers
/// into the message's headers list (creating the list when the app sent none), and, when the client
/// has delivery reports, hands the span to <see cref="DeliveryReports"/>, which ends it when the
/// report comes. Client creation (<c>_new</c>) and the delivery-report registration are shimmed here
/// too, to learn each client's name, group and delivery wiring.
/// </summary>
internal sealed unsafe class ProducerShims
{
    private static readonly KeyValuePair<string, string?>[] NoBaggage = [];

    private readonly KafkaTracing _tracing;
    private readonly VuLayout _vu;
    private readonly delegate* unmanaged[Cdecl]<nint, nint, nint, nint> _produceNative;
    private readonly Func<nint, nint, nint, nint>? _produce;
    private readonly Action<nint, Delegate> _setDeliveryCallback;
    private readonly Func<int, nint, StringBuilder, nuint, object?> _newHandle;
    private readonly Type _deliveryDelegateType;
    private readonly DeliveryReports _deliveries;
    private readonly DirectSpans? _direct;

    public ProducerShims(KafkaTracing tracing, VuLayout vu, Delegate produce, Delegate setDeliveryCallback, Delegate newHandle, DirectSpans? direct = null)
    {
        _tracing = tracing;
        _direct = direct;
        _vu = vu;
        _produceNative = tracing.Native.ProduceVaFor(produce);
        _produce = _produceNative is null ? DelegateAdapter.Invoker<Func<nint, nint, nint, nint>>(produce) : null;
        _setDeliveryCallback = DelegateAdapter.Invoker<Action<nint, Delegate>>(setDeliveryCallback);
        _newHandle = DelegateAdapter.Invoker<Func<int, nint, StringBuilder, nuint, object?>>(newHandle);
        _deliveryDelegateType = setDeliveryCallback.GetType().GetMethod("Invoke")!.GetParameters()[1].ParameterType;
        _deliveries = new DeliveryReports(tracing, direct);
    }

    public int InFlightCount => _deliveries.InFlightCount;

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

        nint error = _produceNative is not null ? _produceNative(rk, vus, count) : _produce!(rk, vus, count);
        if (scope.Activity is not null || scope.Direct is not null || scope.CreatedHeaders != 0)
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
        var arguments = ProduceArguments.Read(_vu, vus, count);
        nint* headersSlot = arguments.HeadersSlot;
        if (arguments.Topic == 0 || headersSlot is null)
        {
            return;
        }

        var topic = _tracing.ProducedTopic((byte*)arguments.Topic);
        if (topic.Excluded)
        {
            return;
        }

        var client = _tracing.Clients.Get(rk);
        var previous = Activity.Current;
        if (_direct is not null && _direct.TryStart(KafkaTracing.Source, previous, topic.SendSpanName, ActivityKind.Producer, out var start))
        {
            BeforeProduceDirect(rk, in arguments, topic, client, previous, in start, ref scope);
            return;
        }

        var tags = KafkaTracing.RentTags();
        try
        {
            tags.Add(new(KafkaSemantics.System, KafkaSemantics.Kafka));
            tags.Add(new(KafkaSemantics.OperationType, KafkaSemantics.Send));
            tags.Add(new(KafkaSemantics.OperationName, KafkaSemantics.Send));
            tags.Add(new(KafkaSemantics.DestinationName, topic.Name));
            if (arguments.Partition >= 0)
            {
                tags.Add(new(KafkaSemantics.PartitionId, KafkaSemantics.Partition(arguments.Partition)));
            }

            if (KafkaSemantics.KeyText(arguments.Key, arguments.KeyLength) is { } key)
            {
                tags.Add(new(KafkaSemantics.MessageKey, key));
            }

            if (arguments.Value == 0)
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
                written = WriteHeaders(headersSlot, ProducerHeaderWriter.TraceParentOf(source), source.Context, source.Baggage, ref scope, out appHeaders);
            }

            bool injected = written != 0;

            // With a delivery report to come, the message carries a token instead of its opaque: the
            // report ends the span and undoes the header changes before Confluent sees it.
            if ((activity is not null || injected) && arguments.OpaqueSlot is not null && client.TracksDelivery)
            {
                scope.Token = _deliveries.Track(activity, arguments.OpaqueSlot, rk, written, appHeaders, arguments.Partition >= 0);
            }
        }
        finally
        {
            // The span ends later, on the delivery-report thread; the caller's context stays its own.
            CurrentActivity.Restore(previous);
        }
    }

    /// <summary>
    /// The producer span with no Activity (DirectSpans): the common case of OTLP export with no
    /// hooks, its decision made as the sampler makes it. What the span needs at its end is kept in a
    /// <see cref="DirectProduce"/>; the headers carry its context as they would the Activity's. An
    /// Activity started, made current, put back and stopped on the delivery thread cost more than
    /// the rest of the message's tracing (the per-operation benchmark's Kafka produce row).
    /// </summary>
    private void BeforeProduceDirect(nint rk, in ProduceArguments arguments, KafkaTopic topic, KafkaClient client, Activity? parent, in DirectStart start, ref ProduceScope scope)
    {
        var produce = new DirectProduce(start, topic, arguments.Partition, KafkaSemantics.KeyText(arguments.Key, arguments.KeyLength), arguments.Value == 0, client.Name);
        scope.Direct = produce;
        nint* headersSlot = arguments.HeadersSlot;
        uint written = 0;
        List<NativeHeader>? appHeaders = null;
        if (_tracing.FieldNames.Length > 0)
        {
            written = WriteHeaders(headersSlot, start.Context, start.Context, parent?.Baggage ?? NoBaggage, ref scope, out appHeaders);
        }

        if (arguments.OpaqueSlot is not null && client.TracksDelivery)
        {
            scope.Token = _deliveries.Track(produce, arguments.OpaqueSlot, rk, written, appHeaders);
        }
    }

    /// <summary>
    /// Writes the propagators' headers into the message: straight from <paramref name="traceParent"/>
    /// (ids and the flags to send) when one traceparent says it all, else through the propagator
    /// with <paramref name="context"/>. Returns a bit per field written.
    /// </summary>
    private uint WriteHeaders(nint* headersSlot, in ActivityContext traceParent, in ActivityContext context, IEnumerable<KeyValuePair<string, string?>> baggage, ref ProduceScope scope, out List<NativeHeader>? appHeaders)
    {
        appHeaders = AppHeaders.SnapshotIfConflicting(_tracing, *headersSlot);
        var writer = ProducerHeaderWriter.For(_tracing, headersSlot);
        if (!writer.TryWriteTraceParentOnly(traceParent, baggage))
        {
            _tracing.Propagator.Inject(context, baggage, writer, ProducerHeaderWriter.Set);
        }

        scope.CreatedHeaders = writer.Created;
        uint written = writer.Written;
        writer.Clear();
        return written;
    }

    private void AfterProduce(nint error, ref ProduceScope scope)
    {
        if (scope.Direct is { } direct)
        {
            if (error != 0)
            {
                if (scope.CreatedHeaders != 0)
                {
                    _tracing.Native.HeadersDestroy(scope.CreatedHeaders);
                }

                if (scope.Token != 0)
                {
                    _deliveries.Forget(scope.Token);
                }

                _deliveries.End(direct, -1, -1, ErrorCodeShims.Name(_tracing.Native.ErrorCode(error)), "produce failed");
            }
            else if (scope.Token == 0)
            {
                _deliveries.End(direct, -1, -1, null, null);
            }

            return;
        }

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
                _deliveries.Forget(scope.Token);
            }

            if (activity is not null)
            {
                KafkaSemantics.SetError(activity, ErrorCodeShims.Name(_tracing.Native.ErrorCode(error)), "produce failed");
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
                var wrapper = new DeliveryCallback(_deliveries, callback, _deliveryDelegateType);
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

    /// <summary>rd_kafka_destroy has returned: spans still waiting for a report end now.</summary>
    public void OnDestroyed(nint rk) => _deliveries.OnDestroyed(rk);

    private struct ProduceScope
    {
        public Activity? Activity;
        public DirectProduce? Direct;
        public nint CreatedHeaders;
        public nint Token;
    }
}
