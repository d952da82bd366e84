using System.Globalization;
using System.Text;
using TraceAgent.Otlp.Receiver;

namespace TraceAgent.Viewer.Output;

/// <summary>
/// A log record's text for a person. ILogger exports the message template as the body and the
/// values as attributes ("Payment for {OrderId}" + OrderId=7), so placeholders are filled from
/// the attributes; a template with no matching attribute is left as it is.
/// </summary>
internal static class LogMessage
{
    public static string Render(ReceivedLogRecord log)
    {
        string body = log.Body switch
        {
            null => "",
            string text => text,
            object other => Convert.ToString(other, CultureInfo.InvariantCulture) ?? "",
        };

        if (body.IndexOf('{', StringComparison.Ordinal) < 0 || log.Attributes.Count == 0)
        {
            return body;
        }

        var result = new StringBuilder(body.Length);
        int i = 0;
        while (i < body.Length)
        {
            char c = body[i];
            if (c == '{' && i + 1 < body.Length && body[i + 1] == '{')
            {
                result.Append('{');
                i += 2;
                continue;
            }

            if (c == '}' && i + 1 < body.Length && body[i + 1] == '}')
            {
                result.Append('}');
                i += 2;
                continue;
            }

            int close = c == '{' ? body.IndexOf('}', i + 1) : -1;
            if (close < 0)
            {
                result.Append(c);
                i++;
                continue;
            }

            // {Name}, {Name:format} or {Name,alignment}: the name is what the attribute is called.
            string hole = body[(i + 1)..close];
            string name = hole.Split([':', ','], 2)[0].TrimStart('@', '$');
            if (log.Attributes.TryGetValue(name, out object? value))
            {
                result.Append(value switch
                {
                    null => "null",
                    IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
                    _ => value.ToString(),
                });
            }
            else
            {
                result.Append(body, i, close - i + 1);
            }

            i = close + 1;
        }

        return result.ToString();
    }
}
