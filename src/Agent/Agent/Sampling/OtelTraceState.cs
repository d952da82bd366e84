namespace TraceAgent.Sampling;

/// <summary>
/// The OpenTelemetry member of a W3C tracestate, <c>ot=th:...;rv:...</c> (specification "TraceState
/// handling"): sub-keys separated by ';', each <c>key:value</c>. Reads the rejection threshold
/// (<c>th</c>) and the explicit randomness (<c>rv</c>, exactly 14 hex digits), and writes a new
/// threshold, keeping every other sub-key and every other vendor's member. The tracestate given
/// here has passed the W3C grammar (the propagator discards invalid headers whole).
/// </summary>
internal static class OtelTraceState
{
    private const string MemberPrefix = "ot=";
    private const int MaxMembers = 32;
    private const int MaxValueLength = 256;

    /// <summary>The value of the <c>ot</c> member, or empty when there is none.</summary>
    public static ReadOnlySpan<char> Member(string? traceState)
    {
        if (string.IsNullOrEmpty(traceState))
        {
            return default;
        }

        var start = FindMember(traceState, out var end);
        return start < 0 ? default : traceState.AsSpan(start + MemberPrefix.Length, end - start - MemberPrefix.Length);
    }

    public static bool TryGetThreshold(string? traceState, out ulong threshold)
    {
        threshold = 0;
        return TryGetSubKey(Member(traceState), "th", out var value) && ProbabilityThreshold.TryParse(value, out threshold);
    }

    public static bool TryGetRandomness(string? traceState, out ulong randomness)
    {
        randomness = 0;
        return TryGetSubKey(Member(traceState), "rv", out var value)
            && value.Length == 14
            && ProbabilityThreshold.TryParse(value, out randomness);
    }

    /// <summary>
    /// The tracestate with <c>th</c> set to <paramref name="threshold"/> (or removed when null), the
    /// <c>ot</c> member moved to the front as a changed member must be (W3C "Mutating the tracestate
    /// field"). Returns the input itself when nothing changes.
    /// </summary>
    public static string? WithThreshold(string? traceState, string? threshold)
    {
        var member = Member(traceState);
        if (threshold is null && !TryGetSubKey(member, "th", out _))
        {
            return traceState;
        }

        // The new ot value: th first, then the other sub-keys in their order.
        var value = new System.Text.StringBuilder(member.Length + 20);
        if (threshold is not null)
        {
            value.Append("th:").Append(threshold);
        }

        var rest = member;
        while (NextEntry(ref rest, out var entry))
        {
            if (entry.IsEmpty || entry.StartsWith("th:", StringComparison.Ordinal))
            {
                continue;
            }

            if (value.Length > 0)
            {
                value.Append(';');
            }

            value.Append(entry);
        }

        if (value.Length > MaxValueLength)
        {
            // Unknown sub-keys would push the member past what W3C allows: keep only ours.
            value.Clear();
            if (threshold is not null)
            {
                value.Append("th:").Append(threshold);
            }

            if (TryGetRandomness(traceState, out _) && TryGetSubKey(member, "rv", out var rv))
            {
                value.Append(value.Length > 0 ? ";" : string.Empty).Append("rv:").Append(rv);
            }
        }

        var others = Others(traceState);
        if (value.Length == 0)
        {
            return others.Count == 0 ? null : string.Join(',', others);
        }

        var result = new System.Text.StringBuilder(MemberPrefix.Length + value.Length + (traceState?.Length ?? 0) + 1);
        result.Append(MemberPrefix).Append(value);

        // Adding a member to a full list drops members from the right end (W3C "tracestate limits").
        for (var i = 0; i < others.Count && i < MaxMembers - 1; i++)
        {
            result.Append(',').Append(others[i]);
        }

        return result.ToString();
    }

    private static List<string> Others(string? traceState)
    {
        var others = new List<string>();
        if (string.IsNullOrEmpty(traceState))
        {
            return others;
        }

        foreach (var member in traceState.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!member.StartsWith(MemberPrefix, StringComparison.Ordinal))
            {
                others.Add(member);
            }
        }

        return others;
    }

    private static bool TryGetSubKey(ReadOnlySpan<char> member, string key, out ReadOnlySpan<char> value)
    {
        value = default;
        var position = 0;
        while (position < member.Length)
        {
            var semicolon = member[position..].IndexOf(';');
            var stop = semicolon < 0 ? member.Length : position + semicolon;
            var length = stop - position;
            if (length > key.Length && member.Slice(position, key.Length).SequenceEqual(key) && member[position + key.Length] == ':')
            {
                value = member.Slice(position + key.Length + 1, length - key.Length - 1);
                return true;
            }

            position = stop + 1;
        }

        return false;
    }

    // The next ';'-separated sub-key of an ot value (.NET 8 has no span splitter).
    private static bool NextEntry(ref ReadOnlySpan<char> rest, out ReadOnlySpan<char> entry)
    {
        if (rest.IsEmpty)
        {
            entry = default;
            return false;
        }

        var semicolon = rest.IndexOf(';');
        entry = semicolon < 0 ? rest : rest[..semicolon];
        rest = semicolon < 0 ? default : rest[(semicolon + 1)..];
        return true;
    }

    // Start of the "ot=" member and the index just past it, or -1. Members are separated by ',' with
    // optional blanks around them.
    private static int FindMember(string traceState, out int end)
    {
        end = -1;
        var position = 0;
        while (position < traceState.Length)
        {
            var comma = traceState.IndexOf(',', position);
            var stop = comma < 0 ? traceState.Length : comma;
            var start = position;
            while (start < stop && traceState[start] is ' ' or '\t')
            {
                start++;
            }

            if (string.CompareOrdinal(traceState, start, MemberPrefix, 0, MemberPrefix.Length) == 0 && start + MemberPrefix.Length <= stop)
            {
                end = stop;
                while (end > start && traceState[end - 1] is ' ' or '\t')
                {
                    end--;
                }

                return start;
            }

            position = stop + 1;
        }

        return -1;
    }
}
