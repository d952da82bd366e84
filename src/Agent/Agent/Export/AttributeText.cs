using System.Globalization;
using TraceAgent.Diagnostics;

namespace TraceAgent.Export;

/// <summary>
/// The text of an attribute value of a type no exporter writes natively (an app's own type set as a
/// tag or logged as a structured value): its ToString, or null when that throws. One value that
/// cannot be written costs its attribute, not the span, record or batch around it; the first fault
/// per type is logged.
/// </summary>
public static class AttributeText
{
    public static string? Of(object value)
    {
        try
        {
            return Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
        }
        catch (Exception exception)
        {
            AgentFaults.Report("the ToString of an attribute value of type " + value.GetType().FullName + " (the attribute is dropped)", exception);
            return null;
        }
    }
}
