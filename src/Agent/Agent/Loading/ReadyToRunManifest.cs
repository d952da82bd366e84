using System.Buffers.Binary;

namespace TraceAgent.Loading;

/// <summary>
/// Reads which builds of other assemblies a file's ReadyToRun code was compiled against: the
/// module version ids (MVIDs) of its ManifestAssemblyMvids section. Each instrumentation is
/// compiled in one version bubble with the agent's core (build/build.sh), so the section holds
/// the core's MVID; loading it beside a core of another build makes the runtime stop the process
/// ("MVID mismatch"), which the loader avoids by reading the section first. Only headers are
/// read (a few hundred bytes); a file without ReadyToRun code, or one laid out unexpectedly,
/// gives an empty list.
/// </summary>
internal static class ReadyToRunManifest
{
    private const uint ReadyToRunSignature = 0x00525452; // "RTR"
    private const int ManifestAssemblyMvids = 118;
    private const int ComDescriptorDirectory = 14;
    private const int HeaderBytes = 4096;
    private const int MaxSections = 256;

    // An array, not a List<Guid>: the list's methods over Guid have no precompiled code.
    public static Guid[] DependencyMvids(string path)
    {
        Guid[] mvids = [];
        using var file = File.OpenHandle(path);
        Span<byte> headers = stackalloc byte[HeaderBytes];
        headers = headers[..RandomAccess.Read(file, headers, 0)];
        if (headers.Length < 0x40 || headers[0] != (byte)'M' || headers[1] != (byte)'Z')
        {
            return mvids;
        }

        var pe = BinaryPrimitives.ReadInt32LittleEndian(headers[0x3C..]);
        if (pe < 0x40 || pe + 26 > headers.Length || BinaryPrimitives.ReadUInt32LittleEndian(headers[pe..]) != 0x00004550)
        {
            return mvids;
        }

        int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(headers[(pe + 6)..]);
        int optionalSize = BinaryPrimitives.ReadUInt16LittleEndian(headers[(pe + 20)..]);
        var optional = pe + 24;
        var pe32Plus = BinaryPrimitives.ReadUInt16LittleEndian(headers[optional..]) == 0x20B;
        var directories = optional + (pe32Plus ? 112 : 96);
        var sections = optional + optionalSize;
        if (sectionCount > MaxSections || sections + (sectionCount * 40) > headers.Length || directories + ((ComDescriptorDirectory + 1) * 8) > sections)
        {
            return mvids;
        }

        var table = headers.Slice(sections, sectionCount * 40).ToArray();
        var comRva = BinaryPrimitives.ReadUInt32LittleEndian(headers[(directories + (ComDescriptorDirectory * 8))..]);

        // The CLI header: the ReadyToRun header is its ManagedNativeHeader directory (at offset 64).
        Span<byte> cli = stackalloc byte[72];
        if (!TryRead(file, table, comRva, cli))
        {
            return mvids;
        }

        var nativeRva = BinaryPrimitives.ReadUInt32LittleEndian(cli[64..]);
        Span<byte> r2r = stackalloc byte[16];
        if (nativeRva == 0 || !TryRead(file, table, nativeRva, r2r) || BinaryPrimitives.ReadUInt32LittleEndian(r2r) != ReadyToRunSignature)
        {
            return mvids;
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(r2r[12..]);
        if (count is <= 0 or > MaxSections)
        {
            return mvids;
        }

        var entries = new byte[count * 12];
        if (!TryRead(file, table, nativeRva + 16, entries))
        {
            return mvids;
        }

        for (var i = 0; i < count; i++)
        {
            var entry = entries.AsSpan(i * 12);
            if (BinaryPrimitives.ReadInt32LittleEndian(entry) != ManifestAssemblyMvids)
            {
                continue;
            }

            var size = BinaryPrimitives.ReadInt32LittleEndian(entry[8..]);
            var list = new byte[size is > 0 and <= 16 * 1024 ? size - (size % 16) : 0];
            if (TryRead(file, table, BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]), list))
            {
                var found = new Guid[mvids.Length + (list.Length / 16)];
                Array.Copy(mvids, found, mvids.Length);
                for (var at = 0; at < list.Length; at += 16)
                {
                    found[mvids.Length + (at / 16)] = new Guid(list.AsSpan(at, 16));
                }

                mvids = found;
            }
        }

        return mvids;
    }

    /// <summary>Reads bytes at a relative virtual address, mapped to the file through the section table.</summary>
    private static bool TryRead(Microsoft.Win32.SafeHandles.SafeFileHandle file, byte[] table, uint rva, Span<byte> into)
    {
        for (var at = 0; at + 40 <= table.Length; at += 40)
        {
            var section = table.AsSpan(at);
            var virtualSize = BinaryPrimitives.ReadUInt32LittleEndian(section[8..]);
            var virtualAddress = BinaryPrimitives.ReadUInt32LittleEndian(section[12..]);
            var rawSize = BinaryPrimitives.ReadUInt32LittleEndian(section[16..]);
            var rawPointer = BinaryPrimitives.ReadUInt32LittleEndian(section[20..]);
            var size = Math.Max(virtualSize, rawSize);
            if (rva >= virtualAddress && (ulong)rva + (ulong)into.Length <= (ulong)virtualAddress + size)
            {
                return RandomAccess.Read(file, into, (long)rawPointer + (rva - virtualAddress)) == into.Length;
            }
        }

        return false;
    }
}
