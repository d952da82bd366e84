using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TraceAgent.Bench;

/// <summary>
/// The collector the apps export to: it stands in for one on another machine, so it answers OTLP/HTTP
/// at once and keeps nothing, spending as little as it can of the cores the apps share with it. It
/// counts what each process sends (bytes, spans, log records) under the path that process was
/// given (<c>POST /{route}/v1/traces</c>), which shows whether two configurations did equal work.
/// </summary>
internal sealed class OtlpSink : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, SinkCounters> _routes = new(StringComparer.Ordinal);

    private OtlpSink(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public static async Task<OtlpSink> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 64 * 1024 * 1024);
        var app = builder.Build();
        var sink = new OtlpSink(app);
        app.MapPost("/{route}/v1/{signal}", sink.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        sink.BaseUrl = address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        return sink;
    }

    /// <summary>What has arrived so far under one route (zeros if nothing).</summary>
    public SinkSnapshot Snapshot(string route) =>
        _routes.TryGetValue(route, out var counters) ? counters.Snapshot() : default;

    private async Task HandleAsync(HttpContext context, string route, string signal)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var body = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var counters = _routes.GetOrAdd(route, _ => new SinkCounters());
        long items = 0;
        try
        {
            var message = context.Request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase) ? Gunzip(body) : body.ToArray();

            // TracesData, MetricsData and LogsData share a shape: resource_* (1) > scope_* (2) >
            // spans / metrics / log_records (2).
            items = CountLeaves(message, depth: 0);
        }
        catch (InvalidDataException)
        {
            Interlocked.Increment(ref counters.Malformed);
        }

        Interlocked.Increment(ref counters.Requests);
        Interlocked.Add(ref counters.Bytes, body.Length);
        switch (signal)
        {
            case "traces":
                Interlocked.Add(ref counters.Spans, items);
                break;
            case "metrics":
                Interlocked.Add(ref counters.Metrics, items);
                break;
            default:
                Interlocked.Add(ref counters.LogRecords, items);
                break;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/x-protobuf";
        context.Response.ContentLength = 0;
    }

    private static byte[] Gunzip(ReadOnlySpan<byte> body)
    {
        using var input = new GZipStream(new MemoryStream(body.ToArray()), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Counts the field-2 messages three levels down (1 > 2 > 2), skipping everything else.</summary>
    private static long CountLeaves(ReadOnlySpan<byte> message, int depth)
    {
        long count = 0;
        int position = 0;
        while (position < message.Length)
        {
            ulong key = ReadVarint(message, ref position);
            int field = (int)(key >> 3);
            int wireType = (int)(key & 7);
            switch (wireType)
            {
                case 0:
                    ReadVarint(message, ref position);
                    break;
                case 1:
                    position += 8;
                    break;
                case 5:
                    position += 4;
                    break;
                case 2:
                    int length = checked((int)ReadVarint(message, ref position));
                    if (length < 0 || position + length > message.Length)
                    {
                        throw new InvalidDataException("length past the end");
                    }

                    bool wanted = depth == 0 ? field == 1 : field == 2;
                    if (wanted)
                    {
                        count += depth == 2 ? 1 : CountLeaves(message.Slice(position, length), depth + 1);
                    }

                    position += length;
                    break;
                default:
                    throw new InvalidDataException("unknown wire type");
            }
        }

        if (position > message.Length)
        {
            throw new InvalidDataException("field past the end");
        }

        return count;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
            {
                throw new InvalidDataException("truncated varint");
            }

            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("varint too long");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class SinkCounters
    {
        public long Requests;
        public long Bytes;
        public long Spans;
        public long LogRecords;
        public long Metrics;
        public long Malformed;

        public SinkSnapshot Snapshot() => new(
            Interlocked.Read(ref Requests),
            Interlocked.Read(ref Bytes),
            Interlocked.Read(ref Spans),
            Interlocked.Read(ref LogRecords),
            Interlocked.Read(ref Metrics),
            Interlocked.Read(ref Malformed));
    }
}

/// <summary>Counts of one route; Metrics counts metric messages (each with its points), not points.</summary>
internal readonly record struct SinkSnapshot(long Requests, long Bytes, long Spans, long LogRecords, long Metrics, long Malformed)
{
    public static SinkSnapshot operator -(SinkSnapshot a, SinkSnapshot b) =>
        new(a.Requests - b.Requests, a.Bytes - b.Bytes, a.Spans - b.Spans, a.LogRecords - b.LogRecords, a.Metrics - b.Metrics, a.Malformed - b.Malformed);

    public static SinkSnapshot operator +(SinkSnapshot a, SinkSnapshot b) =>
        new(a.Requests + b.Requests, a.Bytes + b.Bytes, a.Spans + b.Spans, a.LogRecords + b.LogRecords, a.Metrics + b.Metrics, a.Malformed + b.Malformed);
}
