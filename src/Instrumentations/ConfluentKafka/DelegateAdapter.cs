using System.Globalization;
using System.Reflection;
using System.Reflection.Emit;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// Builds a delegate of one type that calls a method of a compatible but differently typed
/// signature. Confluent.Kafka's delegate fields use internal types (a private delegate with an
/// <c>rd_kafka_vu*</c> parameter, internal enums, SafeKafkaHandle, internal callback delegates), which
/// the agent cannot name at compile time; in IL a pointer is a native int, an enum its underlying
/// integer and a reference a reference, so one <c>ldarg</c> per parameter plus a <c>castclass</c>
/// where a reference type narrows is all the glue needed. Built once per delegate at start-up; the
/// per-call cost is one extra direct call. Where the runtime binds the two as they are (the same
/// types, an enum as its underlying integer, a reference parameter taken as a base type of the
/// delegate's, a reference result given as a more derived one), the delegate is bound directly and
/// nothing is emitted: each emitted method is JIT-compiled with full optimization at its first
/// call, in the app's start.
/// </summary>
internal static class DelegateAdapter
{
    /// <summary>
    /// A <paramref name="delegateType"/> delegate that calls <paramref name="method"/>, an instance
    /// method of <paramref name="target"/> (for example the <c>Invoke</c> of another delegate).
    /// </summary>
    public static Delegate Create(Type delegateType, object target, MethodInfo method)
    {
        var invoke = delegateType.GetMethod("Invoke") ?? throw new ArgumentException("not a delegate type", nameof(delegateType));
        var outer = invoke.GetParameters();
        var inner = method.GetParameters();
        if (outer.Length != inner.Length)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{method.Name} takes {inner.Length} arguments, {delegateType.Name} passes {outer.Length}"));
        }

        var parameterTypes = new Type[outer.Length + 1];
        parameterTypes[0] = target.GetType();
        for (int i = 0; i < outer.Length; i++)
        {
            CheckCompatible(outer[i].ParameterType, inner[i].ParameterType);
            parameterTypes[i + 1] = outer[i].ParameterType;
        }

        CheckCompatible(invoke.ReturnType, method.ReturnType);
        if (Delegate.CreateDelegate(delegateType, target, method, throwOnBindFailure: false) is { } direct)
        {
            return direct;
        }

        var dynamicMethod = new DynamicMethod(
            "TraceAgentKafka_" + method.Name,
            invoke.ReturnType,
            parameterTypes,
            typeof(DelegateAdapter).Module,
            skipVisibility: true);
        var il = dynamicMethod.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        for (int i = 0; i < outer.Length; i++)
        {
            il.Emit(OpCodes.Ldarg, (short)(i + 1));
            var from = outer[i].ParameterType;
            var to = inner[i].ParameterType;
            if (from != to && !to.IsValueType && !to.IsPointer && !to.IsByRef && !to.IsAssignableFrom(from))
            {
                il.Emit(OpCodes.Castclass, to);
            }
        }

        il.Emit(method.IsVirtual ? OpCodes.Callvirt : OpCodes.Call, method);
        var result = invoke.ReturnType;
        if (result != method.ReturnType && result != typeof(void) && !result.IsValueType && !result.IsPointer && !result.IsAssignableFrom(method.ReturnType))
        {
            il.Emit(OpCodes.Castclass, result);
        }

        il.Emit(OpCodes.Ret);
        return dynamicMethod.CreateDelegate(delegateType, target);
    }

    /// <summary>
    /// A typed delegate that calls <paramref name="original"/>: where it can, one bound to the
    /// original's own method and target (Confluent's are mostly its P/Invoke methods), which needs
    /// neither an emitted method nor the stub the runtime compiles for calling one delegate's
    /// Invoke through another, and saves a hop on every call.
    /// </summary>
    public static T Invoker<T>(Delegate original)
        where T : Delegate
    {
        if (OwnMethod<T>(original) is { } direct)
        {
            return direct;
        }

        return (T)Create(typeof(T), original, original.GetType().GetMethod("Invoke")!);
    }

    private static T? OwnMethod<T>(Delegate original)
        where T : Delegate
    {
        // One method with its target (an open instance delegate has none, and is left to Invoke).
        var method = original.Method;
        if (original.GetInvocationList().Length != 1 || (!method.IsStatic && original.Target is null))
        {
            return null;
        }

        try
        {
            return Delegate.CreateDelegate(typeof(T), original.Target, method, throwOnBindFailure: false) as T;
        }
        catch (ArgumentException)
        {
            // A method the runtime cannot bind again (an emitted one): called through Invoke.
            return null;
        }
    }

    /// <summary>The same shape at the IL level: equal, both native-int-like, both the same size of integer, or both references.</summary>
    private static void CheckCompatible(Type a, Type b)
    {
        if (a == b || Kind(a) == Kind(b))
        {
            return;
        }

        throw new ArgumentException($"{a.Name} and {b.Name} differ at the IL level");
    }

    private static string Kind(Type type)
    {
        if (type == typeof(void))
        {
            return "void";
        }

        if (type.IsPointer || type == typeof(IntPtr) || type == typeof(UIntPtr))
        {
            return "native int";
        }

        if (type.IsByRef)
        {
            return "byref " + Kind(type.GetElementType()!);
        }

        if (type.IsEnum)
        {
            return Kind(Enum.GetUnderlyingType(type));
        }

        if (type == typeof(int) || type == typeof(uint))
        {
            return "int32";
        }

        if (type == typeof(long) || type == typeof(ulong))
        {
            return "int64";
        }

        return type.IsValueType ? type.FullName ?? type.Name : "object";
    }
}
