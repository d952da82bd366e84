using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Tracing;

namespace TraceAgent.Export;

/// <summary>
/// Sends spans as Zipkin v2 JSON (POST /api/v2/spans), under the span limits the OTLP encoder
/// applies: attributes kept per span (tags), string values truncated, events kept (annotations).
/// Zipkin has no links and no dropped counts.
/// </summary>
internal sealed class ZipkinExporter : ISpanExporter
{
    private readonly Uri _endpoint;
    private readonly string _serviceName;
    private readonly HttpClient _client;
    private readonly MemoryStream _buffer = new();
    private readonly int _timeoutMilliseconds;
    private readonly SpanLimits? _limits;
    private bool _failing;

    public ZipkinExporter(Uri endpoint, string serviceName, int timeoutMilliseconds, SpanLimits? limits = null)
    {
        _limits = limits;
        _endpoint = endpoint;
        _serviceName = serviceName;
        _timeoutMilliseconds = timeoutMilliseconds;
        _client = Transport.ExportHttp.CreateClient(timeoutMilliseconds, new Transport.ExportTlsState(Transport.ExportTls.SystemTrust));
        _client.DefaultRequestHeaders.UserAgent.Add(Transport.ExportHttp.UserAgent);
    }

    public string Description => "zipkin " + EndpointDisplay.Of(_endpoint);

    public ExportResult Export(IReadOnlyList<Activity> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        _buffer.SetLength(0);
        using (var json = new Utf8JsonWriter(_buffer))
        {
            json.WriteStartArray();
            foreach (var activity in batch)
            {
                WriteSpan(json, activity);
            }

            json.WriteEndArray();
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var left = deadlineUtc - DateTime.UtcNow;
        cts.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(1, Math.Min(_timeoutMilliseconds, left.TotalMilliseconds))));
        try
        {
            using var content = new ByteArrayContent(_buffer.GetBuffer(), 0, (int)_buffer.Length);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            HttpResponseMessage response;
            using (Suppression.Begin())
            {
                response = _client.PostAsync(_endpoint, content, cts.Token).GetAwaiter().GetResult();
            }

            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    _failing = false;
                    return ExportResult.Success;
                }

                return Fail(string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.StatusCode}"));
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return Fail(ex.Message);
        }
    }

    private ExportResult Fail(string reason)
    {
        if (!_failing)
        {
            _failing = true;
            AgentLog.Warning($"zipkin export to {EndpointDisplay.Of(_endpoint)} failed: {reason}; the batch is dropped");
        }

        return ExportResult.Failure;
    }

    private void WriteSpan(Utf8JsonWriter json, Activity activity)
    {
        json.WriteStartObject();
        json.WriteString("traceId", activity.TraceId.ToHexString());
        json.WriteString("id", activity.SpanId.ToHexString());
        if (activity.ParentSpanId != default)
        {
            json.WriteString("parentId", activity.ParentSpanId.ToHexString());
        }

        json.WriteString("name", activity.DisplayName);
        var kind = activity.Kind switch
        {
            ActivityKind.Server => "SERVER",
            ActivityKind.Client => "CLIENT",
            ActivityKind.Producer => "PRODUCER",
            ActivityKind.Consumer => "CONSUMER",
            _ => null,
        };
        if (kind is not null)
        {
            json.WriteString("kind", kind);
        }

        json.WriteNumber("timestamp", (activity.StartTimeUtc.Ticks - DateTime.UnixEpoch.Ticks) / 10);
        json.WriteNumber("duration", Math.Max(1, activity.Duration.Ticks / 10));
        json.WriteStartObject("localEndpoint");
        json.WriteString("serviceName", _serviceName);
        json.WriteEndObject();
        json.WriteStartObject("tags");
        var tagsLeft = _limits?.AttributeCountLimit ?? int.MaxValue;
        var lengthLimit = _limits?.AttributeValueLengthLimit;
        foreach (var tag in activity.EnumerateTagObjects())
        {
            if (tagsLeft > 0 && tag.Key is not null && tag.Value is not null && TagValue(tag.Value, lengthLimit) is { } text)
            {
                json.WriteString(tag.Key, text);
                tagsLeft--;
            }
        }

        if (activity.Status == ActivityStatusCode.Error)
        {
            json.WriteString("error", activity.StatusDescription ?? "true");
        }

        json.WriteEndObject();
        var first = true;
        var eventsLeft = _limits?.EventCountLimit ?? int.MaxValue;
        foreach (ref readonly var e in activity.EnumerateEvents())
        {
            if (eventsLeft-- <= 0)
            {
                break;
            }

            if (first)
            {
                json.WriteStartArray("annotations");
                first = false;
            }

            json.WriteStartObject();
            json.WriteNumber("timestamp", (e.Timestamp.UtcTicks - DateTime.UnixEpoch.Ticks) / 10);
            json.WriteString("value", e.Name);
            json.WriteEndObject();
        }

        if (!first)
        {
            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    /// <summary>
    /// Zipkin tags are strings. Arrays are written as their JSON text (["a","b"], [1,2]), as the
    /// OpenTelemetry specification's Zipkin mapping says, never as a .NET type name. Null when a
    /// value (or an array element) has no text (see <see cref="AttributeText"/>): the tag is dropped.
    /// Text longer than <paramref name="lengthLimit"/> is cut, each string of an array on its own, as OTLP's.
    /// </summary>
    internal static string? TagValue(object value, int? lengthLimit = null)
    {
        switch (value)
        {
            case string s:
                return OtlpCommon.Truncate(s, lengthLimit);
            case bool b:
                return b ? "true" : "false";
            case Array array when value is not byte[]:
                var buffer = new System.Buffers.ArrayBufferWriter<byte>();
                // Relaxed escaping: the tag is read by people in the Zipkin UI ("é", not "\u00e9").
                using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                {
                    json.WriteStartArray();
                    foreach (var item in array)
                    {
                        switch (item)
                        {
                            case null:
                                json.WriteNullValue();
                                break;
                            case string s:
                                json.WriteStringValue(OtlpCommon.Truncate(s, lengthLimit));
                                break;
                            case bool b:
                                json.WriteBooleanValue(b);
                                break;
                            case double d when !double.IsFinite(d):
                                json.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
                                break;
                            case float f when !float.IsFinite(f):
                                json.WriteStringValue(f.ToString(CultureInfo.InvariantCulture));
                                break;
                            case byte or sbyte or short or ushort or int or uint or long:
                                json.WriteNumberValue(Convert.ToInt64(item, CultureInfo.InvariantCulture));
                                break;
                            case ulong or float or double or decimal:
                                json.WriteNumberValue(Convert.ToDouble(item, CultureInfo.InvariantCulture));
                                break;
                            default:
                                if (AttributeText.Of(item) is not { } itemText)
                                {
                                    return null;
                                }

                                json.WriteStringValue(OtlpCommon.Truncate(itemText, lengthLimit));
                                break;
                        }
                    }

                    json.WriteEndArray();
                }

                return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
            default:
                return AttributeText.Of(value) is { } text ? OtlpCommon.Truncate(text, lengthLimit) : null;
        }
    }

    public void Dispose() => _client.Dispose();
}
