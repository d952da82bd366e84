using System.Buffers.Binary;
using System.IO.Compression;

namespace TraceAgent.Export.Transport;

/// <summary>
/// Reads what a collector answers, bounded: an OTLP answer is a few bytes (an empty
/// Export*ServiceResponse, or one with partial_success), so at most <see cref="MaxKeptBytes"/> are
/// kept and at most <see cref="MaxReadBytes"/> read before the request is abandoned.
/// </summary>
internal static class OtlpResponse
{
    public const int MaxKeptBytes = 64 * 1024;
    public const int MaxReadBytes = 1024 * 1024;

    /// <summary>
    /// The body's first bytes (up to <see cref="MaxKeptBytes"/>); false when it is larger than
    /// <see cref="MaxReadBytes"/>. <paramref name="buffer"/> is the caller's, reused from answer to
    /// answer; an empty answer (the usual OTLP/HTTP success) allocates nothing. Synchronous reads for
    /// an answer received by a synchronous send (HTTP/1.1), so that no thread-pool thread is woken.
    /// </summary>
    public static bool TryReadBody(HttpResponseMessage response, bool synchronous, byte[] buffer, CancellationToken cancellationToken, out byte[] body)
    {
        using var stream = synchronous ? response.Content.ReadAsStream(cancellationToken) : response.Content.ReadAsStreamAsync(cancellationToken).GetAwaiter().GetResult();
        MemoryStream? kept = null;
        var total = 0;
        while (true)
        {
            var read = synchronous ? stream.Read(buffer) : stream.ReadAsync(buffer.AsMemory(), cancellationToken).AsTask().GetAwaiter().GetResult();
            if (read == 0)
            {
                body = kept?.ToArray() ?? [];
                return true;
            }

            total += read;
            if (total > MaxReadBytes)
            {
                body = kept?.ToArray() ?? [];
                return false;
            }

            kept ??= new MemoryStream();
            var keep = Math.Min(read, MaxKeptBytes - (int)kept.Length);
            if (keep > 0)
            {
                kept.Write(buffer, 0, keep);
            }
        }
    }

    /// <summary>
    /// The message of a gRPC answer: the first length-prefixed message, gunzipped when flagged.
    /// Empty when there is none or it cannot be read (then there is no partial success to report).
    /// </summary>
    public static ReadOnlySpan<byte> GrpcMessage(byte[] body, string? encoding)
    {
        if (body.Length < 5)
        {
            return default;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1, 4));
        if (length > (uint)(body.Length - 5))
        {
            return default;
        }

        var message = body.AsSpan(5, (int)length);
        if (body[0] == 0)
        {
            return message;
        }

        if (body[0] != 1 || !string.Equals(encoding, "gzip", StringComparison.OrdinalIgnoreCase))
        {
            return default;
        }

        try
        {
            using var gzip = new GZipStream(new MemoryStream(body, 5, (int)length), CompressionMode.Decompress);
            var output = new MemoryStream();
            var chunk = new byte[4096];
            int read;
            while ((read = gzip.Read(chunk, 0, chunk.Length)) > 0 && output.Length < MaxKeptBytes)
            {
                output.Write(chunk, 0, read);
            }

            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return default;
        }
    }

    /// <summary>
    /// partial_success of an Export{Trace,Logs,Metrics}ServiceResponse: field 1, a message whose
    /// field 1 is the count of rejected items (int64) and field 2 the collector's error_message. The
    /// three signals share this shape, so one reader serves them all. Unreadable bytes mean "none".
    /// </summary>
    public static bool TryReadPartialSuccess(ReadOnlySpan<byte> response, out long rejected, out string message)
    {
        rejected = 0;
        message = string.Empty;
        var found = false;
        while (ProtoFieldReader.TryField(ref response, out var field, out var wireType, out _, out var payload))
        {
            if (field != 1 || wireType != 2)
            {
                continue;
            }

            found = true;
            var partial = payload;
            while (ProtoFieldReader.TryField(ref partial, out var inner, out var innerType, out var value, out var bytes))
            {
                if (inner == 1 && innerType == 0)
                {
                    rejected = (long)value;
                }
                else if (inner == 2 && innerType == 2)
                {
                    message = System.Text.Encoding.UTF8.GetString(bytes);
                }
            }
        }

        return found && (rejected > 0 || message.Length > 0);
    }
}
