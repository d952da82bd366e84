using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TraceAgent.Export;

/// <summary>Prints spans to stdout, one block per span; for trying the agent out, not for production.</summary>
internal sealed class ConsoleExporter : ISpanExporter
{
    private readonly string _serviceName;
    private readonly StringBuilder _text = new();

    public ConsoleExporter(string serviceName)
    {
        _serviceName = serviceName;
    }

    public string Description => "console";

    public ExportResult Export(IReadOnlyList<Activity> batch, DateTime deadlineUtc, CancellationToken cancellationToken)
    {
        _text.Clear();
        foreach (var activity in batch)
        {
            _text.Append(CultureInfo.InvariantCulture, $"span {activity.DisplayName} [{activity.Kind}] service={_serviceName} trace={activity.TraceId} span={activity.SpanId}");
            if (activity.ParentSpanId != default)
            {
                _text.Append(CultureInfo.InvariantCulture, $" parent={activity.ParentSpanId}");
            }

            _text.Append(CultureInfo.InvariantCulture, $" duration={activity.Duration.TotalMilliseconds:0.###}ms status={activity.Status}");
            if (!string.IsNullOrEmpty(activity.StatusDescription))
            {
                _text.Append(CultureInfo.InvariantCulture, $" ({activity.StatusDescription})");
            }

            _text.AppendLine();
            foreach (var tag in activity.EnumerateTagObjects())
            {
                if ((tag.Value is null ? string.Empty : AttributeText.Of(tag.Value)) is { } text)
                {
                    _text.Append(CultureInfo.InvariantCulture, $"    {tag.Key}={text}").AppendLine();
                }
            }

            foreach (ref readonly var e in activity.EnumerateEvents())
            {
                _text.Append(CultureInfo.InvariantCulture, $"    event {e.Name}").AppendLine();
            }
        }

        return Exporters.WriteToConsole(_text);
    }

    public void Dispose()
    {
    }
}
