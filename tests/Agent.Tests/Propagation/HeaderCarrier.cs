using System.Diagnostics;

namespace TraceAgent.Tests.Propagation;

// A header collection for tests: case-insensitive like HTTP headers, or case-sensitive like Kafka.
internal sealed class HeaderCarrier
{
    private readonly List<KeyValuePair<string, string>> _headers = [];
    private readonly StringComparison _comparison;

    public HeaderCarrier(bool caseSensitive = false)
    {
        _comparison = caseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
    }

    public static DistributedContextPropagator.PropagatorGetterCallback Getter { get; } = static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
    {
        List<string> found = ((HeaderCarrier)carrier!).GetAll(name);
        value = found.Count == 1 ? found[0] : null;
        values = found.Count > 1 ? found : null;
    };

    // What ASP.NET Core's hosting does: IHeaderDictionary[name] joins several values with ','.
    public static DistributedContextPropagator.PropagatorGetterCallback JoiningGetter { get; } = static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
    {
        List<string> found = ((HeaderCarrier)carrier!).GetAll(name);
        value = found.Count == 0 ? null : string.Join(",", found);
        values = null;
    };

    public static DistributedContextPropagator.PropagatorSetterCallback Setter { get; } = static (carrier, name, value) =>
        ((HeaderCarrier)carrier!).Add(name, value);

    public static Func<HeaderCarrier, string, IEnumerable<string>?> EnumerableGetter { get; } = static (carrier, name) =>
    {
        List<string> found = carrier.GetAll(name);
        return found.Count == 0 ? null : found;
    };

    public static Action<HeaderCarrier, string, string> ActionSetter { get; } = static (carrier, name, value) => carrier.Add(name, value);

    public int Count => _headers.Count;

    public IReadOnlyList<KeyValuePair<string, string>> All => _headers;

    public HeaderCarrier Add(string name, string value)
    {
        _headers.Add(new KeyValuePair<string, string>(name, value));
        return this;
    }

    public List<string> GetAll(string name)
    {
        var result = new List<string>();
        foreach (KeyValuePair<string, string> header in _headers)
        {
            if (string.Equals(header.Key, name, _comparison))
            {
                result.Add(header.Value);
            }
        }

        return result;
    }

    public string? Get(string name)
    {
        List<string> all = GetAll(name);
        return all.Count switch
        {
            0 => null,
            1 => all[0],
            _ => throw new InvalidOperationException($"header {name} was written {all.Count} times"),
        };
    }
}
