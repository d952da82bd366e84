using System.Diagnostics;

namespace TraceAgent.Propagation;

// The propagator is driven through two carrier APIs: the runtime's DistributedContextPropagator
// callbacks (HttpClient, ASP.NET Core) and plain delegates for messaging clients. These small
// structs adapt both to one shape so each format is written once; as generic struct arguments
// they are specialised by the JIT and never boxed.
internal interface IHeaderReader
{
    void Read(string name, out string? value, out IEnumerable<string>? values);
}

internal interface IHeaderWriter
{
    void Write(string name, string value);
}

internal readonly struct PropagatorGetterReader : IHeaderReader
{
    private readonly object? _carrier;
    private readonly DistributedContextPropagator.PropagatorGetterCallback _getter;

    public PropagatorGetterReader(object? carrier, DistributedContextPropagator.PropagatorGetterCallback getter)
    {
        _carrier = carrier;
        _getter = getter;
    }

    public void Read(string name, out string? value, out IEnumerable<string>? values) =>
        _getter(_carrier, name, out value, out values);
}

internal readonly struct DelegateHeaderReader<TCarrier> : IHeaderReader
{
    private readonly TCarrier _carrier;
    private readonly Func<TCarrier, string, IEnumerable<string>?> _getter;

    public DelegateHeaderReader(TCarrier carrier, Func<TCarrier, string, IEnumerable<string>?> getter)
    {
        _carrier = carrier;
        _getter = getter;
    }

    public void Read(string name, out string? value, out IEnumerable<string>? values)
    {
        value = null;
        values = _getter(_carrier, name);
    }
}

internal readonly struct PropagatorSetterWriter : IHeaderWriter
{
    private readonly object? _carrier;
    private readonly DistributedContextPropagator.PropagatorSetterCallback _setter;

    public PropagatorSetterWriter(object? carrier, DistributedContextPropagator.PropagatorSetterCallback setter)
    {
        _carrier = carrier;
        _setter = setter;
    }

    public void Write(string name, string value) => _setter(_carrier, name, value);
}

internal readonly struct DelegateHeaderWriter<TCarrier> : IHeaderWriter
{
    private readonly TCarrier _carrier;
    private readonly Action<TCarrier, string, string> _setter;

    public DelegateHeaderWriter(TCarrier carrier, Action<TCarrier, string, string> setter)
    {
        _carrier = carrier;
        _setter = setter;
    }

    public void Write(string name, string value) => _setter(_carrier, name, value);
}
