using System.Globalization;
using System.Text.RegularExpressions;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>
/// The last loss summary a process wrote for one kind of item ("spans", "log records"): "&lt;items&gt;
/// lost so far: D dropped (queue full, limit L), F not accepted by the exporter; E exported".
/// </summary>
public readonly record struct LossLine(int Dropped, int Failed, int Exported, string Text)
{
    public static LossLine Last(IEnumerable<string> standardError, string items, int queueLimit)
    {
        var line = standardError.Last(l => l.Contains(items + " lost so far: ", StringComparison.Ordinal));
        var numbers = Regex.Match(line, Regex.Escape(items) + @" lost so far: (\d+) dropped \(queue full, limit " + queueLimit.ToString(CultureInfo.InvariantCulture) + @"\), (\d+) not accepted by the exporter; (\d+) exported$");
        Assert.True(numbers.Success, line);
        int Number(int group) => int.Parse(numbers.Groups[group].Value, CultureInfo.InvariantCulture);
        return new LossLine(Number(1), Number(2), Number(3), line);
    }
}
