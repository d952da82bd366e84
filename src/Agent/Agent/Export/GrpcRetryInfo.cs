namespace TraceAgent.Export;

/// <summary>
/// Reads the retry delay an OTLP/gRPC server may send with a retryable status: the
/// <c>grpc-status-details-bin</c> trailer holds a google.rpc.Status whose details may include a
/// google.rpc.RetryInfo { retry_delay: Duration }. The OTLP specification says to honour it.
/// </summary>
internal static class GrpcRetryInfo
{
    private const string RetryInfoType = "type.googleapis.com/google.rpc.RetryInfo";

    // Whatever a server says, a batch waits at most this long for one retry.
    private static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(5);

    public static TimeSpan? FromTrailer(string? base64)
    {
        if (string.IsNullOrEmpty(base64) || base64.Length > 16 * 1024)
        {
            return null;
        }

        try
        {
            // gRPC sends binary metadata as base64, padding optional.
            var padded = base64.Length % 4 == 0 ? base64 : base64 + new string('=', 4 - (base64.Length % 4));
            return FromStatus(Convert.FromBase64String(padded));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static TimeSpan? FromStatus(ReadOnlySpan<byte> status)
    {
        // google.rpc.Status: details = 3 (repeated Any).
        while (TryNextField(ref status, out var field, out var payload))
        {
            if (field != 3)
            {
                continue;
            }

            // Any: type_url = 1, value = 2.
            var any = payload;
            var isRetryInfo = false;
            scoped ReadOnlySpan<byte> value = default;
            while (TryNextField(ref any, out var anyField, out var anyPayload))
            {
                if (anyField == 1)
                {
                    isRetryInfo = System.Text.Encoding.UTF8.GetString(anyPayload) == RetryInfoType;
                }
                else if (anyField == 2)
                {
                    value = anyPayload;
                }
            }

            if (!isRetryInfo)
            {
                continue;
            }

            // RetryInfo: retry_delay = 1 (Duration: seconds = 1, nanos = 2, both varints).
            while (TryNextField(ref value, out var retryField, out var duration))
            {
                if (retryField == 1)
                {
                    return ParseDuration(duration);
                }
            }
        }

        return null;
    }

    private static TimeSpan? ParseDuration(ReadOnlySpan<byte> duration)
    {
        long seconds = 0;
        long nanos = 0;
        while (!duration.IsEmpty)
        {
            if (!ProtoFieldReader.TryVarint(ref duration, out var tag))
            {
                return null;
            }

            if ((tag & 7) != 0 || !ProtoFieldReader.TryVarint(ref duration, out var number))
            {
                return null;
            }

            if (tag >> 3 == 1)
            {
                seconds = (long)number;
            }
            else if (tag >> 3 == 2)
            {
                nanos = (long)number;
            }
        }

        if (seconds < 0 || nanos < 0 || seconds > MaxDelay.TotalSeconds)
        {
            return seconds > MaxDelay.TotalSeconds ? MaxDelay : null;
        }

        return TimeSpan.FromSeconds(seconds) + TimeSpan.FromTicks(nanos / 100);
    }

    /// <summary>The next length-delimited field; other wire types are skipped.</summary>
    private static bool TryNextField(ref ReadOnlySpan<byte> data, out ulong field, out ReadOnlySpan<byte> payload)
    {
        while (ProtoFieldReader.TryField(ref data, out field, out var wireType, out _, out payload))
        {
            if (wireType == 2)
            {
                return true;
            }
        }

        return false;
    }
}
