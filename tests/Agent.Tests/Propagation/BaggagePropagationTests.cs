using System.Globalization;
using System.Text;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Propagation;

// Expected values come from https://www.w3.org/TR/baggage/ (its examples are used verbatim).
public sealed class BaggagePropagationTests
{
    [Fact]
    public void SpecExampleWithPropertiesAndOws()
    {
        var parsed = BaggagePropagation.Parse("key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue", truncated: false);

        Assert.Equal(
            [Pair("key1", "value1"), Pair("key2", "value2"), Pair("key3", "value3")],
            parsed!);
    }

    [Fact]
    public void SpecExamplePercentEncodedValues()
    {
        var parsed = BaggagePropagation.Parse("userId=Am%C3%A9lie,serverNode=DF%2028,isProduction=false", truncated: false);

        Assert.Equal(
            [Pair("userId", "Am\u00e9lie"), Pair("serverNode", "DF 28"), Pair("isProduction", "false")],
            parsed!);
    }

    [Fact]
    public void MultipleHeadersAreCombinedInOrder()
    {
        var carrier = new HeaderCarrier()
            .Add("baggage", "userId =   alice")
            .Add("baggage", "serverNode = DF%2028, isProduction = false");

        var parsed = BaggagePropagation.Extract(new PropagatorGetterReader(carrier, HeaderCarrier.Getter));

        Assert.Equal(
            [Pair("userId", "alice"), Pair("serverNode", "DF 28"), Pair("isProduction", "false")],
            parsed!);
    }

    [Theory]
    // '+' is not a space in RFC 3986 percent-encoding.
    [InlineData("k=a+b", "a+b")]
    // '=' may appear in a value.
    [InlineData("k=a=b", "a=b")]
    [InlineData("k==", "=")]
    // An empty value is allowed by the grammar (value = *baggage-octet).
    [InlineData("k=", "")]
    [InlineData("k= ;p=1", "")]
    // Lower-case hex digits decode as well.
    [InlineData("k=%c3%a9", "\u00e9")]
    // Octets that are not valid UTF-8 become U+FFFD.
    [InlineData("k=a%FFb", "a\uFFFDb")]
    [InlineData("k=%C3", "\uFFFD")]
    [InlineData("k=%C3%28", "\uFFFD(")]
    // A '%' not followed by two hex digits is kept as it is.
    [InlineData("k=100%", "100%")]
    [InlineData("k=%G1", "%G1")]
    [InlineData("k=%4", "%4")]
    // Surrogate pair from a 4-byte sequence.
    [InlineData("k=%F0%9F%98%80", "\U0001F600")]
    public void ValuesAreDecoded(string header, string expected)
    {
        var parsed = BaggagePropagation.Parse(header, truncated: false);

        Assert.Equal([Pair("k", expected)], parsed!);
    }

    [Fact]
    public void InvalidMembersAreSkipped()
    {
        string header = "k1=v1,k 2=v2,k3=v\"3,=v4,k5,k6=v6,k7=a b,k8=\\,k(9)=v,k10=caf\u00e9,,  ,k11=v11";

        var parsed = BaggagePropagation.Parse(header, truncated: false);

        Assert.Equal([Pair("k1", "v1"), Pair("k6", "v6"), Pair("k11", "v11")], parsed!);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" , ,")]
    [InlineData("novalue")]
    [InlineData("\u0000=\u0001")]
    public void NothingValidGivesNull(string header)
    {
        Assert.Null(BaggagePropagation.Parse(header, truncated: false));
    }

    [Fact]
    public void DuplicateKeysAreKeptInOrderOnExtract()
    {
        var parsed = BaggagePropagation.Parse("k=1,k=2", truncated: false);

        Assert.Equal([Pair("k", "1"), Pair("k", "2")], parsed!);
    }

    [Fact]
    public void AtMost64MembersAreExtracted()
    {
        var parsed = BaggagePropagation.Parse(Members(65), truncated: false);

        Assert.Equal(64, parsed!.Count);
        Assert.Equal(Pair("k1", "v1"), parsed[0]);
        Assert.Equal(Pair("k64", "v64"), parsed[63]);
    }

    [Fact]
    public void AtMost8192BytesAreExtractedAndNoPartialMember()
    {
        // Two members of 4095 characters plus a comma make 8191 bytes; a third does not fit.
        string a = "a=" + new string('x', 4093);
        string b = "b=" + new string('y', 4093);
        string c = "c=" + new string('z', 10);

        var parsed = BaggagePropagation.Parse(a + "," + b + "," + c, truncated: false);

        Assert.Equal(2, parsed!.Count);
        Assert.Equal("a", parsed[0].Key);
        Assert.Equal("b", parsed[1].Key);
    }

    [Fact]
    public void TruncatedHeaderDropsItsLastMember()
    {
        var parsed = BaggagePropagation.Parse("a=1,b=2,c=3", truncated: true);

        Assert.Equal([Pair("a", "1"), Pair("b", "2")], parsed!);
    }

    [Fact]
    public void HugeHeaderIsScannedOnlyToTheBound()
    {
        string header = "a=1," + new string(',', 10_000_000) + ",b=2";

        var parsed = BaggagePropagation.Parse(header, truncated: false);

        Assert.Equal([Pair("a", "1")], parsed!);
    }

    [Fact]
    public void SpecExampleIsFormatted()
    {
        string? header = BaggagePropagation.Format([Pair("userId", "alice"), Pair("serverNode", "DF 28"), Pair("isProduction", "false")]);

        Assert.Equal("userId=alice,serverNode=DF%2028,isProduction=false", header);
    }

    [Fact]
    public void NonAsciiAndSpecialCharactersArePercentEncoded()
    {
        Assert.Equal("userId=Am%C3%A9lie", BaggagePropagation.Format([Pair("userId", "Am\u00e9lie")]));

        // Space, DQUOTE, comma, semicolon, backslash and percent are encoded; '=' and '+' need not be.
        Assert.Equal("k=%20%22%2C%3B%5C%25=+", BaggagePropagation.Format([Pair("k", " \",;\\%=+")]));

        // A key that is not a token is encoded too.
        Assert.Equal("my%20key=v", BaggagePropagation.Format([Pair("my key", "v")]));

        // A lone surrogate cannot be UTF-8 and becomes U+FFFD (EF BF BD).
        Assert.Equal("k=%EF%BF%BD", BaggagePropagation.Format([Pair("k", "\ud800")]));
    }

    [Fact]
    public void NullValueIsSentEmptyAndEmptyKeyIsSkipped()
    {
        Assert.Equal("k=", BaggagePropagation.Format([Pair("k", null)]));
        Assert.Null(BaggagePropagation.Format([Pair(string.Empty, "v")]));
        Assert.Null(BaggagePropagation.Format([]));
    }

    [Fact]
    public void FirstOccurrenceOfAKeyWinsOnInject()
    {
        Assert.Equal("k=child,other=1", BaggagePropagation.Format([Pair("k", "child"), Pair("other", "1"), Pair("k", "parent")]));
    }

    [Fact]
    public void InjectRespectsLimits()
    {
        var many = new List<KeyValuePair<string, string?>>();
        for (int i = 1; i <= 70; i++)
        {
            many.Add(Pair("k" + i.ToString(CultureInfo.InvariantCulture), "v"));
        }

        string? header = BaggagePropagation.Format(many);
        Assert.Equal(64, header!.Split(',').Length);

        // A member that alone exceeds 8192 bytes is skipped; smaller later ones still go out.
        string? big = BaggagePropagation.Format([Pair("a", "1"), Pair("huge", new string('x', 9000)), Pair("b", "2")]);
        Assert.Equal("a=1,b=2", big);

        // Encoding grows the text: 3000 'é' are 18000 encoded characters.
        Assert.Null(BaggagePropagation.Format([Pair("k", new string('\u00e9', 3000))]));

        string? full = BaggagePropagation.Format([Pair("a", new string('x', 4093)), Pair("b", new string('y', 4093)), Pair("c", "1")]);
        Assert.True(full!.Length <= 8192);
        Assert.Equal(2, full.Split(',').Length);
    }

    [Theory]
    [InlineData("plain", "value")]
    [InlineData("unicode", "\u65e5\u672c\u8a9e \u00e9\u00e8 \U0001F600")]
    [InlineData("special", " ,;=%\"\\+&?#/:@!$'()*[]{}|^`~\t")]
    [InlineData("key with space;and=more", "v")]
    [InlineData("\u00fcber", "\u00fcber")]
    [InlineData("k", "%41%")]
    [InlineData("k", "")]
    public void FormatThenParseRoundTrips(string key, string value)
    {
        string? header = BaggagePropagation.Format([Pair(key, value)]);
        Assert.NotNull(header);
        foreach (char c in header!)
        {
            Assert.True(c is >= (char)0x21 and <= (char)0x7E, $"character 0x{(int)c:x2} in {header}");
        }

        var parsed = BaggagePropagation.Parse(header, truncated: false);

        Assert.Equal([Pair(key, value)], parsed!);
    }

    private static KeyValuePair<string, string?> Pair(string key, string? value) => new(key, value);

    private static string Members(int count)
    {
        var builder = new StringBuilder();
        for (int i = 1; i <= count; i++)
        {
            string n = i.ToString(CultureInfo.InvariantCulture);
            builder.Append(i == 1 ? string.Empty : ",").Append('k').Append(n).Append("=v").Append(n);
        }

        return builder.ToString();
    }
}
