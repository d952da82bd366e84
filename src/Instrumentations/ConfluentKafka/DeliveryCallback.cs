using TraceAgent.Diagnostics;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// The agent's stand-in for Confluent's delivery-report callback: an instance of Confluent's own
/// delegate type (so librdkafka gets a Cdecl function pointer, as before) that ends the span and
/// restores the message's opaque, then calls Confluent's callback with everything as it was.
/// </summary>
internal sealed class DeliveryCallback
{
    private readonly DeliveryReports _reports;
    private readonly Delegate _original;
    private readonly Action<nint, nint, nint> _invokeOriginal;

    public DeliveryCallback(DeliveryReports reports, Delegate original, Type delegateType)
    {
        _reports = reports;
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
            _reports.OnDelivery(message);
        }
        catch (Exception ex)
        {
            AgentFaults.Report("kafka delivery report", ex);
        }

        GC.KeepAlive(_original);
        _invokeOriginal(rk, message, opaque);
    }
}
