using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;

namespace TraceAgent.Instrumentation;

/// <summary>
/// Reads a named public property of diagnostic event payloads whose types are internal to the
/// library that writes them: one compiled getter per payload type, no reflection per event.
/// </summary>
public sealed class PropertyFetcher(string propertyName)
{
    private readonly ConcurrentDictionary<Type, Func<object, object?>> _getters = new();

    public object? Fetch(object? payload) =>
        payload is null ? null : _getters.GetOrAdd(payload.GetType(), Compile)(payload);

    private Func<object, object?> Compile(Type type)
    {
        var property = type.GetProperty(propertyName, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        if (property is null || property.GetMethod is null)
        {
            return static _ => null;
        }

        var parameter = Expression.Parameter(typeof(object));
        var body = Expression.Convert(Expression.Property(Expression.Convert(parameter, type), property), typeof(object));
        return Expression.Lambda<Func<object, object?>>(body, parameter).Compile();
    }
}
