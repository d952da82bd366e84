using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace TraceAgent.Instrumentation.AspNetCore;

/// <summary>
/// The unhandled-exception events carry an anonymous object { httpContext, exception }: one
/// compiled getter pair per payload type reads it without reflection per event.
/// </summary>
internal static class ExceptionPayload
{
    private static readonly ConcurrentDictionary<Type, Func<object, (HttpContext?, Exception?)>> Readers = new();

    public static (HttpContext? Context, Exception? Exception) Read(object payload) =>
        Readers.GetOrAdd(payload.GetType(), Compile)(payload);

    private static Func<object, (HttpContext?, Exception?)> Compile(Type type)
    {
        var context = Find(type, "httpContext", typeof(HttpContext));
        var exception = Find(type, "exception", typeof(Exception));
        if (context is null || exception is null)
        {
            return static _ => (null, null);
        }

        var parameter = Expression.Parameter(typeof(object));
        var typed = Expression.Convert(parameter, type);
        var body = Expression.New(
            typeof(ValueTuple<HttpContext?, Exception?>).GetConstructor([typeof(HttpContext), typeof(Exception)])!,
            Expression.Convert(Expression.Property(typed, context), typeof(HttpContext)),
            Expression.Convert(Expression.Property(typed, exception), typeof(Exception)));
        return Expression.Lambda<Func<object, (HttpContext?, Exception?)>>(body, parameter).Compile();
    }

    private static PropertyInfo? Find(Type type, string name, Type expected)
    {
        var property = type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        return property is not null && expected.IsAssignableFrom(property.PropertyType) ? property : null;
    }
}
