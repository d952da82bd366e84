using System.Globalization;
using System.Reflection;
using Confluent.Kafka;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// Confluent.Kafka without code changes or a native profiler. Its producers and consumers are
/// internal classes created with <c>new</c> and it has no ActivitySource, but every call into
/// librdkafka goes through private static delegate fields of its internal <c>Librdkafka</c> class,
/// filled once by an idempotent <c>Librdkafka.Initialize</c>. The agent has Confluent load librdkafka
/// now (its public <c>Library.Load()</c>, the same call its first client would make), then replaces
/// the fields for produce, consumer poll, commit, close, destroy, client creation and the
/// delivery-report registration with shims of the exact delegate types. Every producer and consumer
/// in the process then goes through the shims; nothing else about Confluent changes.
/// See docs/instrumentations/kafka.md.
/// </summary>
public sealed class KafkaInstrumentation : IInstrumentation
{
    /// <summary>The assembly whose loading starts the instrumentation (the core's registry names it; a unit test compares).</summary>
    public const string TriggerAssembly = "Confluent.Kafka";

    /// <summary>The ActivitySource of the spans the instrumentation makes (the core's registry names it; a unit test compares).</summary>
    public const string SourceName = KafkaTracing.SourceName;

    private const BindingFlags StaticFields = BindingFlags.NonPublic | BindingFlags.Static;

    public IDisposable? Start(InstrumentationContext context)
    {
        var library = context.Library;
        var layout = KafkaLayout.Select(library, out string reason);
        if (layout is null)
        {
            AgentLog.Warning($"Kafka instrumentation is off: {reason}; Kafka clients run untraced");
            return null;
        }

        // Loads librdkafka exactly as the first producer or consumer would (Library.Load() calls
        // Librdkafka.Initialize(null), a no-op if the app already loaded it, e.g. from its own path).
        LoadLibrary();

        var librdkafka = library.GetType(KafkaLayout.LibrdkafkaType, throwOnError: true)!;
        // Plain loops: LINQ's ToDictionary over the field dictionary's pairs (a struct) has no
        // precompiled code, and the JIT took about 2 ms of the start for it.
        var fields = new Dictionary<string, FieldInfo>(layout.Fields.Count, StringComparer.Ordinal);
        var originals = new Dictionary<string, Delegate>(layout.Fields.Count, StringComparer.Ordinal);
        foreach (string name in layout.Fields.Keys)
        {
            var field = librdkafka.GetField(name, StaticFields)!;
            fields[name] = field;
            originals[name] = field.GetValue(null) as Delegate ?? throw new InvalidOperationException($"{name} is not set after Library.Load()");
        }

        var native = NativeRdKafka.Bind(library, originals["_version"]);
        var tracing = new KafkaTracing(native, new KafkaClients(native), context.Propagator, context.GetSettings<KafkaSettings>());
        var producer = new ProducerShims(tracing, ReadVuLayout(library), originals["_produceva"], originals["_conf_set_dr_msg_cb"], originals["_new"], context.DirectSpans);
        var consumer = new ConsumerShims(
            tracing,
            producer,
            (Func<nint, nint, nint>)originals["_consumer_poll"],
            originals["_commit_queue"],
            (Action<nint>)originals["_destroy"],
            (Action<nint, nint>)originals["_destroy_flags"]);
        var errorCodes = new ErrorCodeShims(consumer, originals["_consumer_close"], originals["_commit"]);

        var shims = new Dictionary<string, Delegate>(StringComparer.Ordinal)
        {
            ["_new"] = Adapt(fields["_new"], producer, nameof(ProducerShims.NewHandle)),
            ["_conf_set_dr_msg_cb"] = Adapt(fields["_conf_set_dr_msg_cb"], producer, nameof(ProducerShims.SetDeliveryCallback)),
            ["_produceva"] = Adapt(fields["_produceva"], producer, nameof(ProducerShims.Produce)),
            ["_consumer_poll"] = new Func<nint, nint, nint>(consumer.Poll),
            ["_commit"] = errorCodes.CommitShim(),
            ["_commit_queue"] = Adapt(fields["_commit_queue"], consumer, nameof(ConsumerShims.CommitQueue)),
            ["_consumer_close"] = errorCodes.CloseShim(),
            ["_destroy"] = new Action<nint>(consumer.Destroy),
            ["_destroy_flags"] = new Action<nint, nint>(consumer.DestroyFlags),
        };

        // Everything is built and type-checked before the first field changes: all or nothing.
        foreach (var (name, shim) in shims)
        {
            if (!fields[name].FieldType.IsInstanceOfType(shim))
            {
                throw new InvalidOperationException($"shim for {name} is {shim.GetType().Name}, field is {fields[name].FieldType.Name}");
            }
        }

        foreach (var (name, shim) in shims)
        {
            fields[name].SetValue(null, shim);
        }

        AgentLog.Debug(string.Create(CultureInfo.InvariantCulture, $"Kafka instrumentation: Confluent.Kafka {library.GetName().Version} ({layout.Name}), librdkafka {native.Version:x}, {shims.Count} delegates replaced"));
        return new Restore(fields, originals, shims.Keys);
    }

    // A method of its own: the runtime refuses the precompiled code of a method that calls
    // Library.Load(), and this start (over a thousand bytes of IL) would be JIT-compiled at tier 0.
    private static void LoadLibrary() => Library.Load();

    private static Delegate Adapt(FieldInfo field, object target, string method) =>
        DelegateAdapter.Create(field.FieldType, target, target.GetType().GetMethod(method)!);

    /// <summary>rd_kafka_vu: its size, where its value union starts, and the rd_kafka_vtype values used.</summary>
    private static VuLayout ReadVuLayout(Assembly library)
    {
        var vu = library.GetType(KafkaLayout.VuType, throwOnError: true)!;
        var data = library.GetType(KafkaLayout.VuDataType, throwOnError: true)!;
        var vtype = library.GetType(KafkaLayout.VtypeType, throwOnError: true)!;
        int size = SizeOf(vu);
        int dataOffset = size - SizeOf(data);
        if (dataOffset != sizeof(long) || Enum.GetUnderlyingType(vtype) != typeof(int))
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"unexpected rd_kafka_vu layout: size {size}, value at {dataOffset}"));
        }

        // The members' constants read from metadata: the first Enum.Parse of a process builds the
        // runtime's enum cache for the type, about 1 ms of the start.
        int Value(string name) => vtype.GetField(name, BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() is int value
            ? value
            : throw new InvalidOperationException($"rd_kafka_vtype has no {name}");
        return new VuLayout(size, dataOffset, Value("Topic"), Value("Partition"), Value("Value"), Value("Key"), Value("Opaque"), Value("Headers"));
    }

    // The managed size of a (ref) struct, which is what Confluent's stackalloc uses. From .NET 9 the
    // runtime answers directly; before, a two-instruction method is emitted and JIT-compiled.
    private static int SizeOf(Type type)
    {
#if NET9_0_OR_GREATER
        return System.Runtime.CompilerServices.RuntimeHelpers.SizeOf(type.TypeHandle);
#else
        var method = new System.Reflection.Emit.DynamicMethod("TraceAgentKafka_SizeOf", typeof(int), Type.EmptyTypes, typeof(KafkaInstrumentation).Module, skipVisibility: true);
        var il = method.GetILGenerator();
        il.Emit(System.Reflection.Emit.OpCodes.Sizeof, type);
        il.Emit(System.Reflection.Emit.OpCodes.Ret);
        return ((Func<int>)method.CreateDelegate(typeof(Func<int>)))();
#endif
    }

    /// <summary>At shutdown, Confluent's own delegates go back; a call already inside a shim finishes normally.</summary>
    private sealed class Restore(Dictionary<string, FieldInfo> fields, Dictionary<string, Delegate> originals, IEnumerable<string> replaced) : IDisposable
    {
        public void Dispose()
        {
            foreach (string name in replaced)
            {
                try
                {
                    fields[name].SetValue(null, originals[name]);
                }
                catch (Exception ex)
                {
                    AgentFaults.Report("kafka shutdown", ex);
                }
            }
        }
    }
}
