using System.Globalization;
using System.Text;
using System.Text.Json;

namespace TraceAgent.Viewer.Query;

/// <summary>An attribute value as text: what tag searches compare and what non-scalar tags show.</summary>
internal static class TagValue
{
    public static string Text(object? value) => value switch
    {
        null => "",
        string text => text,
        bool flag => flag ? "true" : "false",
        long number => number.ToString(CultureInfo.InvariantCulture),
        int number => number.ToString(CultureInfo.InvariantCulture),
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        byte[] bytes => Convert.ToBase64String(bytes),
        _ => Json(value),
    };

    /// <summary>Arrays and maps as JSON, the way OTLP-to-Jaeger translation shows them.</summary>
    public static string Json(object? value)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            Write(json, value);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>An attribute or log body value as JSON (also the JSON report's).</summary>
    internal static void Write(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case string text:
                json.WriteStringValue(text);
                break;
            case bool flag:
                json.WriteBooleanValue(flag);
                break;
            case long number:
                json.WriteNumberValue(number);
                break;
            case int number:
                json.WriteNumberValue(number);
                break;
            case double number when double.IsFinite(number):
                json.WriteNumberValue(number);
                break;
            case double number:
                json.WriteStringValue(number.ToString(CultureInfo.InvariantCulture));
                break;
            case byte[] bytes:
                json.WriteBase64StringValue(bytes);
                break;
            case IReadOnlyDictionary<string, object?> map:
                json.WriteStartObject();
                foreach ((string key, object? item) in map)
                {
                    json.WritePropertyName(key);
                    Write(json, item);
                }

                json.WriteEndObject();
                break;
            case System.Collections.IEnumerable items:
                json.WriteStartArray();
                foreach (object? item in items)
                {
                    Write(json, item);
                }

                json.WriteEndArray();
                break;
            default:
                json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }
}
