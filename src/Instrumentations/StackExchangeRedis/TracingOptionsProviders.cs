using System.Net;
using System.Reflection;
using System.Reflection.Emit;
using StackExchange.Redis;
using StackExchange.Redis.Configuration;
using TraceAgent.Diagnostics;

namespace TraceAgent.Instrumentation.StackExchangeRedis;

/// <summary>
/// Puts the agent into StackExchange.Redis's options-provider chain without changing any
/// connection's defaults. GetProvider walks the providers newest first and takes the first whose
/// IsMatch claims any endpoint, falling back to a plain DefaultOptionsProvider (2.5.61 up to 3.x
/// alike). So each built-in provider (Azure, Azure Managed Redis, ...) is replaced in front by a
/// subclass emitted at run time that differs only in AfterConnectAsync: a hand-written subclass or
/// decorator compiled against the lowest version would lose the defaults that later versions add
/// as new virtual members. The catch-all, newest of all, claims only endpoints nobody else does,
/// and so behaves as the plain DefaultOptionsProvider it derives from.
/// </summary>
internal static class TracingOptionsProviders
{
    private static readonly string[] ProviderListNames = ["KnownProviders"];

    private static Func<IEnumerable<DefaultOptionsProvider>>? s_knownProviders;
    private static readonly HashSet<DefaultOptionsProvider> Ours = new(ReferenceEqualityComparer.Instance);
    private static readonly HashSet<Type> ReportedForeign = [];
    private static readonly object Gate = new();
    private static object? s_lastSeenList;

    public static void Register()
    {
        s_knownProviders = FindProviderList();
        var builtIns = s_knownProviders is not null
            ? s_knownProviders().ToList()
            : FallbackBuiltIns();

        var wrapped = new List<DefaultOptionsProvider>();
        foreach (var provider in builtIns)
        {
            var subclass = EmitTracingSubclass(provider.GetType());
            if (subclass is null)
            {
                AgentLog.Warning($"Redis: options provider {provider.GetType().FullName} cannot be subclassed; connections it claims are not traced");
                continue;
            }

            wrapped.Add(subclass);
        }

        lock (Gate)
        {
            // AddProvider puts each one first: add in reverse so the wrappers keep the built-ins' order.
            for (var i = wrapped.Count - 1; i >= 0; i--)
            {
                Ours.Add(wrapped[i]);
                DefaultOptionsProvider.AddProvider(wrapped[i]);
            }

            var catchAll = new CatchAllProvider();
            Ours.Add(catchAll);
            DefaultOptionsProvider.AddProvider(catchAll);
        }

        s_lastSeenList = CurrentListObject();
    }

    /// <summary>
    /// Logs, once per type, a provider the app registered in front of the agent's: connections it
    /// claims never reach the agent's AfterConnectAsync and are therefore not traced.
    /// </summary>
    public static void CheckForForeignProviders()
    {
        if (s_knownProviders is null)
        {
            return;
        }

        var list = CurrentListObject();
        if (ReferenceEquals(list, s_lastSeenList))
        {
            return;
        }

        s_lastSeenList = list;
        foreach (var provider in s_knownProviders())
        {
            lock (Gate)
            {
                if (Ours.Contains(provider))
                {
                    // Providers behind the agent's catch-all are never consulted for unclaimed endpoints.
                    return;
                }

                if (ReportedForeign.Add(provider.GetType()))
                {
                    AgentLog.Warning($"Redis: the app registered options provider {provider.GetType().FullName}; connections to endpoints it claims are not traced by the agent");
                }
            }
        }
    }

    private static object? CurrentListObject() => s_knownProviders?.Invoke();

    private static Func<IEnumerable<DefaultOptionsProvider>>? FindProviderList()
    {
        // A private static member, present from 2.5 to 3.x; without it the agent falls back to the
        // public provider types, and cannot notice providers the app adds.
        foreach (var name in ProviderListNames)
        {
            var property = typeof(DefaultOptionsProvider).GetProperty(name, BindingFlags.NonPublic | BindingFlags.Static);
            if (property?.GetMethod is { } getter && !property.PropertyType.IsValueType && typeof(IEnumerable<DefaultOptionsProvider>).IsAssignableFrom(property.PropertyType))
            {
                // A delegate, not MethodInfo.Invoke: the list is read at every connection's
                // provider lookup, and reflection would emit and compile an invoke stub for it.
                return getter.CreateDelegate<Func<IEnumerable<DefaultOptionsProvider>>>();
            }
        }

        AgentLog.Debug("Redis: DefaultOptionsProvider's provider list not found; wrapping the public built-in provider types");
        return null;
    }

    private static List<DefaultOptionsProvider> FallbackBuiltIns() =>
        typeof(DefaultOptionsProvider).Assembly.GetExportedTypes()
            .Where(t => t.IsSubclassOf(typeof(DefaultOptionsProvider)) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (DefaultOptionsProvider)Activator.CreateInstance(t)!)
            .ToList();

    private static ModuleBuilder? s_module;

    private static DefaultOptionsProvider? EmitTracingSubclass(Type baseType)
    {
        if (baseType.IsSealed || !baseType.IsPublic && !baseType.IsNestedPublic)
        {
            return null;
        }

        var baseConstructor = baseType.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes);
        var baseAfterConnect = baseType.GetMethod(
            nameof(DefaultOptionsProvider.AfterConnectAsync),
            BindingFlags.Public | BindingFlags.Instance,
            [typeof(ConnectionMultiplexer), typeof(Action<string>)]);
        if (baseConstructor is null || !(baseConstructor.IsPublic || baseConstructor.IsFamily || baseConstructor.IsFamilyOrAssembly) || baseAfterConnect is null)
        {
            return null;
        }

        s_module ??= AssemblyBuilder
            .DefineDynamicAssembly(new AssemblyName("TraceAgent.Instrumentation.StackExchangeRedis.Providers"), AssemblyBuilderAccess.Run)
            .DefineDynamicModule("Providers");
        var type = s_module.DefineType("TraceAgent.Redis.Traced" + baseType.Name, TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Class, baseType);

        var constructor = type.DefineConstructor(MethodAttributes.Public, CallingConventions.Standard, Type.EmptyTypes);
        var il = constructor.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, baseConstructor);
        il.Emit(OpCodes.Ret);

        // Task AfterConnectAsync(m, log) { RedisConnectionHook.OnConnected(m); return base.AfterConnectAsync(m, log); }
        var method = type.DefineMethod(
            baseAfterConnect.Name,
            MethodAttributes.Public | MethodAttributes.Virtual | MethodAttributes.HideBySig,
            typeof(Task),
            [typeof(ConnectionMultiplexer), typeof(Action<string>)]);
        il = method.GetILGenerator();
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, typeof(RedisConnectionHook).GetMethod(nameof(RedisConnectionHook.OnConnected))!);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Call, baseAfterConnect);
        il.Emit(OpCodes.Ret);
        type.DefineMethodOverride(method, baseAfterConnect);

        return (DefaultOptionsProvider)Activator.CreateInstance(type.CreateType())!;
    }

    /// <summary>The plain defaults, for endpoints that no other provider claims.</summary>
    private sealed class CatchAllProvider : DefaultOptionsProvider
    {
        public override bool IsMatch(EndPoint endpoint)
        {
            try
            {
                if (s_knownProviders is null)
                {
                    return !FallbackClaims(endpoint);
                }

                CheckForForeignProviders();
                foreach (var provider in s_knownProviders())
                {
                    if (!ReferenceEquals(provider, this) && provider.IsMatch(endpoint))
                    {
                        return false;
                    }
                }

                return true;
            }
            catch (Exception ex)
            {
                AgentFaults.Report("Redis options provider match", ex);
                return false;
            }
        }

        public override Task AfterConnectAsync(ConnectionMultiplexer multiplexer, Action<string> log)
        {
            RedisConnectionHook.OnConnected(multiplexer);
            return base.AfterConnectAsync(multiplexer, log);
        }

        private static bool FallbackClaims(EndPoint endpoint)
        {
            lock (Gate)
            {
                foreach (var provider in Ours)
                {
                    if (provider is not CatchAllProvider && provider.IsMatch(endpoint))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
    }
}
