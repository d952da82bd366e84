using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace TraceAgent.Instrumentation.ConfluentKafka;

/// <summary>
/// The few librdkafka functions the shims call themselves (headers, names, configuration), taken
/// from the very library Confluent.Kafka loaded: the library name comes from the DllImport of the
/// method behind its <c>_version</c> delegate (it differs by platform and fallback), and is resolved
/// with NativeLibrary against the Confluent.Kafka assembly, the same probing (deps.json, resolvers)
/// its DllImport used, so the loader hands back the module already in the process. A version check
/// against Confluent's own delegate guards against a mismatch. Unmanaged function pointers keep each
/// call free of delegate marshalling.
/// </summary>
internal sealed unsafe class NativeRdKafka
{
    public const int ErrNoEnt = -156; // RD_KAFKA_RESP_ERR__NOENT

    private readonly delegate* unmanaged[Cdecl]<nint, nint> _headersNew;
    private readonly delegate* unmanaged[Cdecl]<nint, void> _headersDestroy;
    private readonly delegate* unmanaged[Cdecl]<nint, byte*, nint, byte*, nint, int> _headerAdd;
    private readonly delegate* unmanaged[Cdecl]<nint, byte*, int> _headerRemove;
    private readonly delegate* unmanaged[Cdecl]<nint, nuint, byte**, byte**, nuint*, int> _headerGetAll;
    private readonly delegate* unmanaged[Cdecl]<nint, nint*, int> _messageHeaders;
    private readonly delegate* unmanaged[Cdecl]<nint, byte*> _topicName;
    private readonly delegate* unmanaged[Cdecl]<nint, byte*> _name;
    private readonly delegate* unmanaged[Cdecl]<nint, byte*, byte*, nuint*, int> _confGet;
    private readonly delegate* unmanaged[Cdecl]<nint, int> _errorCode;

    private readonly nint _library;
    private readonly string _libraryName;

    private NativeRdKafka(nint library, string libraryName)
    {
        _library = library;
        _libraryName = libraryName;
        _headersNew = (delegate* unmanaged[Cdecl]<nint, nint>)NativeLibrary.GetExport(library, "rd_kafka_headers_new");
        _headersDestroy = (delegate* unmanaged[Cdecl]<nint, void>)NativeLibrary.GetExport(library, "rd_kafka_headers_destroy");
        _headerAdd = (delegate* unmanaged[Cdecl]<nint, byte*, nint, byte*, nint, int>)NativeLibrary.GetExport(library, "rd_kafka_header_add");
        _headerRemove = (delegate* unmanaged[Cdecl]<nint, byte*, int>)NativeLibrary.GetExport(library, "rd_kafka_header_remove");
        _headerGetAll = (delegate* unmanaged[Cdecl]<nint, nuint, byte**, byte**, nuint*, int>)NativeLibrary.GetExport(library, "rd_kafka_header_get_all");
        _messageHeaders = (delegate* unmanaged[Cdecl]<nint, nint*, int>)NativeLibrary.GetExport(library, "rd_kafka_message_headers");
        _topicName = (delegate* unmanaged[Cdecl]<nint, byte*>)NativeLibrary.GetExport(library, "rd_kafka_topic_name");
        _name = (delegate* unmanaged[Cdecl]<nint, byte*>)NativeLibrary.GetExport(library, "rd_kafka_name");
        _confGet = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, nuint*, int>)NativeLibrary.GetExport(library, "rd_kafka_conf_get");
        _errorCode = (delegate* unmanaged[Cdecl]<nint, int>)NativeLibrary.GetExport(library, "rd_kafka_error_code");
        Version = ((delegate* unmanaged[Cdecl]<int>)NativeLibrary.GetExport(library, "rd_kafka_version"))();
    }

    public int Version { get; }

    /// <summary>Binds to the library behind <paramref name="versionDelegate"/> (Confluent's <c>_version</c>).</summary>
    public static NativeRdKafka Bind(Assembly confluent, Delegate versionDelegate)
    {
        var import = versionDelegate.Method.GetCustomAttribute<DllImportAttribute>()
            ?? throw new InvalidOperationException($"{versionDelegate.Method.DeclaringType?.Name}.{versionDelegate.Method.Name} is not a DllImport");
        var searchPath = versionDelegate.Method.DeclaringType?.GetCustomAttribute<DefaultDllImportSearchPathsAttribute>()?.Paths
            ?? confluent.GetCustomAttribute<DefaultDllImportSearchPathsAttribute>()?.Paths;
        var library = NativeLibrary.Load(import.Value, confluent, searchPath);
        var native = new NativeRdKafka(library, import.Value);
        // Called as what it is (Confluent's field is a Func<IntPtr>): DynamicInvoke would have the
        // runtime make and JIT-compile an invoke stub in every process.
        var theirs = (long)(versionDelegate is Func<nint> version ? version() : (nint)versionDelegate.DynamicInvoke()!);
        if (theirs != native.Version)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"librdkafka resolved as '{import.Value}' reports version {native.Version:x}, Confluent.Kafka's reports {theirs:x}"));
        }

        return native;
    }

    /// <summary>
    /// <c>rd_kafka_produceva</c> itself when <paramref name="original"/> (the delegate in Confluent's
    /// <c>_produceva</c> field) is Confluent's own DllImport of it from this library, else null. Called
    /// through the pointer, a message skips two delegate calls, a method emitted to pass the
    /// <c>rd_kafka_vu*</c> on, and the P/Invoke stub the runtime compiles for Confluent's import. A
    /// delegate put there by anything else is called as it is.
    /// </summary>
    public delegate* unmanaged[Cdecl]<nint, nint, nint, nint> ProduceVaFor(Delegate original)
    {
        const string EntryPoint = "rd_kafka_produceva";
        var method = original.Method;
        if (!method.IsStatic || original.GetInvocationList().Length != 1 || method.GetCustomAttribute<DllImportAttribute>() is not { } import
            || !string.Equals(import.Value, _libraryName, StringComparison.Ordinal)
            || !string.Equals(import.EntryPoint ?? method.Name, EntryPoint, StringComparison.Ordinal)
            || !NativeLibrary.TryGetExport(_library, EntryPoint, out nint address))
        {
            return null;
        }

        return (delegate* unmanaged[Cdecl]<nint, nint, nint, nint>)address;
    }

    public nint HeadersNew(int count) => _headersNew(count);

    public void HeadersDestroy(nint headers) => _headersDestroy(headers);

    public int HeaderAdd(nint headers, byte* name, byte* value, int valueLength) => _headerAdd(headers, name, -1, value, valueLength);

    public int HeaderRemove(nint headers, byte* name) => _headerRemove(headers, name);

    public int HeaderGetAll(nint headers, int index, out byte* name, out byte* value, out nuint size)
    {
        byte* n;
        byte* v;
        nuint s;
        int err = _headerGetAll(headers, (nuint)index, &n, &v, &s);
        name = n;
        value = v;
        size = s;
        return err;
    }

    public nint MessageHeaders(nint message)
    {
        nint headers;
        return _messageHeaders(message, &headers) == 0 ? headers : 0;
    }

    public string? TopicName(nint topic) => topic == 0 ? null : Marshal.PtrToStringUTF8((nint)_topicName(topic));

    public string? Name(nint handle) => handle == 0 ? null : Marshal.PtrToStringUTF8((nint)_name(handle));

    public int ErrorCode(nint error) => _errorCode(error);

    /// <summary>A configuration property of a not-yet-used rd_kafka_conf_t, or null when unset or unknown.</summary>
    public string? ConfGet(nint conf, string name)
    {
        Span<byte> nameBytes = stackalloc byte[Encoding.UTF8.GetMaxByteCount(name.Length) + 1];
        int length = Encoding.UTF8.GetBytes(name, nameBytes);
        nameBytes[length] = 0;
        const int Capacity = 512;
        byte* buffer = stackalloc byte[Capacity];
        nuint size = Capacity;
        fixed (byte* namePointer = nameBytes)
        {
            if (_confGet(conf, namePointer, buffer, &size) != 0 || size == 0 || size > Capacity)
            {
                return null;
            }
        }

        // size counts the terminating NUL.
        return size <= 1 ? null : Encoding.UTF8.GetString(buffer, (int)size - 1);
    }
}
