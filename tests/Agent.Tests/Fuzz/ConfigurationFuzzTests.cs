using System.Reflection;
using System.Text;
using TraceAgent.Configuration;
using TraceAgent.Diagnostics;
using TraceAgent.Instrumentation;
using TraceAgent.Tests.Reliability;

namespace TraceAgent.Tests.Fuzz;

/// <summary>
/// Every variable the agent reads, set to random and adversarial values: loading the settings
/// never throws, and everything it logs is one short, printable line per warning.
/// </summary>
[Collection(StandardErrorCollection.Name)]
public sealed class ConfigurationFuzzTests
{
    private const int Iterations = 1500;
    private const int MaxLineLength = 2000;

    private static readonly string[] Adversarial =
    [
        string.Empty,
        " ",
        "\t\r\n",
        "\0",
        "true",
        "TRUE",
        "yes",
        "-1",
        "0",
        "-0",
        "2147483647",
        "2147483648",
        "-2147483649",
        "99999999999999999999999",
        "1e9",
        "0x10",
        "NaN",
        "Infinity",
        "0.5",
        "0,5",
        " 42 ",
        "١٢٣",
        ",",
        ",,,",
        "=",
        "==",
        "a=",
        "=b",
        "a=b,c",
        "a=%",
        "a=%zz",
        "a=%C3%28",
        "key=value;prop",
        "http://",
        "http://[::1",
        "ftp://example/",
        "http://u:p@127.0.0.1:99999/v1/traces",
        "http://127.0.0.1:4318/v1/traces?x=y#z",
        "file:///etc/passwd",
        "../../etc/passwd",
        "/dev/null",
        "otlp,otlp,none,console",
        "tracecontext,b3,b3multi,baggage,none,xray",
        "parentbased_traceidratio",
        "*",
        "a*,*b,**",
        "line1\nline2",
        "line1\r\nwarn injected",
        "\u0085next\u2028line\u2029para\fform",
        "\u202Eevil\u202C",
        "\ud83d\ude00\ud83d",
        "\udc00",
        "\uffff\ufffe",
        "日本語=値",
        "%00%0a%0d",
    ];

    private static readonly char[] Alphabet = "aZ09,;=%:/\\*.-_ \t\r\n\0\u0085\u2028\u00e9\u65e5\ud83d\ude00\ud800\"'`${}".ToCharArray();

    [Fact]
    public void Random_and_adversarial_values_for_every_variable_never_throw_and_warn_in_single_lines()
    {
        var keys = AllKeys();
        Assert.True(keys.Count > 60, $"only {keys.Count} keys found");
        var random = new Random(20261124);
        var captured = new StringWriter();
        var original = AgentLog.RedirectStderr(captured);
        var warnings = 0;
        try
        {
            for (var i = 0; i < Iterations; i++)
            {
                var values = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var key in keys)
                {
                    if (random.Next(3) != 0)
                    {
                        values[key] = NextValue(random);
                    }
                }

                var reader = new SettingsReader(values);
                var settings = AgentSettings.Load(reader, InstrumentationRegistry.Ids);
                Assert.NotNull(settings);
                warnings += reader.Warnings.Count;
                foreach (var warning in reader.Warnings)
                {
                    AssertOneShortLine(warning);
                }
            }
        }
        finally
        {
            AgentLog.RedirectStderr(original);
        }

        Assert.True(warnings > Iterations, $"only {warnings} warnings: the values are not adversarial enough");

        // Everything written to stderr is whole lines of the agent's own, one event each.
        foreach (var line in captured.ToString().Split(Environment.NewLine))
        {
            if (line.Length == 0)
            {
                continue;
            }

            Assert.StartsWith("[traceagent] ", line, StringComparison.Ordinal);
            AssertOneShortLine(line);
        }
    }

    [Fact]
    public void Every_key_alone_with_every_adversarial_value_loads()
    {
        var keys = AllKeys();
        var captured = new StringWriter();
        var original = AgentLog.RedirectStderr(captured);
        try
        {
            foreach (var key in keys)
            {
                foreach (var value in Adversarial.Append(new string('x', 1_000_000)).Append(string.Concat(Enumerable.Repeat("a=b,", 50_000))))
                {
                    var reader = new SettingsReader(new Dictionary<string, string> { [key] = value });
                    _ = AgentSettings.Load(reader, InstrumentationRegistry.Ids);
                    foreach (var warning in reader.Warnings)
                    {
                        AssertOneShortLine(warning);
                    }
                }
            }
        }
        finally
        {
            AgentLog.RedirectStderr(original);
        }

        foreach (var line in captured.ToString().Split(Environment.NewLine).Where(l => l.Length > 0))
        {
            Assert.StartsWith("[traceagent] ", line, StringComparison.Ordinal);
            AssertOneShortLine(line);
        }
    }

    private static void AssertOneShortLine(string line)
    {
        if (line.Length > MaxLineLength)
        {
            Assert.Fail($"a {line.Length}-character line: {line[..200]}...");
        }

        foreach (var c in line)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                Assert.Fail($"control or line-break character U+{(int)c:X4} in: {line}");
            }
        }
    }

    private static List<string> AllKeys()
    {
        var keys = typeof(ConfigurationKeys)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();
        foreach (var id in InstrumentationRegistry.Ids)
        {
            keys.Add(ConfigurationKeys.InstrumentationEnabled(id));
            keys.Add(ConfigurationKeys.LogsInstrumentationSwitch(id));
        }

        return keys.Distinct(StringComparer.Ordinal).ToList();
    }

    private static string NextValue(Random random)
    {
        switch (random.Next(6))
        {
            case 0:
            case 1:
                return Adversarial[random.Next(Adversarial.Length)];
            case 2:
                // Lists of adversarial items with separators.
                return string.Join(random.Next(2) == 0 ? "," : ", ", Enumerable.Range(0, random.Next(1, 6)).Select(_ => Adversarial[random.Next(Adversarial.Length)]));
            case 3:
                return RandomString(random, random.Next(1, 64));
            case 4:
                return RandomString(random, random.Next(1_000, 20_000));
            default:
                var key = RandomString(random, random.Next(1, 10));
                return string.Join(",", Enumerable.Range(0, random.Next(1, 30)).Select(i => key + i + "=" + RandomString(random, random.Next(0, 20))));
        }
    }

    private static string RandomString(Random random, int length)
    {
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append(random.Next(8) == 0 ? (char)random.Next(0, 0x10000) : Alphabet[random.Next(Alphabet.Length)]);
        }

        return text.ToString();
    }
}
