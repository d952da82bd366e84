using System.Text;
using TraceAgent.Propagation;

namespace TraceAgent.Tests.Propagation;

// Expected values come from https://www.w3.org/TR/trace-context-2/#tracestate-header (Level 2 key
// grammar) and the W3C test suite: an invalid member discards the whole header.
public sealed class TraceStateTests
{
    [Theory]
    [InlineData("congo=t61rcWkgMzE", "congo=t61rcWkgMzE")]
    [InlineData("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")]
    // OWS around members is ignored (test_tracestate_ows_handling).
    [InlineData("foo=1 \t , \t bar=2, \t baz=3", "foo=1,bar=2,baz=3")]
    [InlineData("foo=1\t \t,\t \tbar=2,\t \tbaz=3", "foo=1,bar=2,baz=3")]
    [InlineData(" foo=1", "foo=1")]
    [InlineData("\tfoo=1", "foo=1")]
    [InlineData("foo=1 ", "foo=1")]
    [InlineData("foo=1\t", "foo=1")]
    [InlineData("\t foo=1 \t", "foo=1")]
    // Empty and whitespace-only members are allowed and dropped.
    [InlineData("foo=1,,bar=2", "foo=1,bar=2")]
    [InlineData(",foo=1, ,\t,bar=2,", "foo=1,bar=2")]
    // Leading spaces of a value are part of it; '=' may not appear in it, other printable ASCII may.
    [InlineData("foo= 1", "foo= 1")]
    [InlineData("foo=a b", "foo=a b")]
    [InlineData("foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~", "foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~")]
    // Keys (Level 2 grammar): a letter or digit first, then letters, digits, _ - * / and @ anywhere.
    [InlineData("a=1", "a=1")]
    [InlineData("a0_-*/=1", "a0_-*/=1")]
    [InlineData("0tenant@system=1", "0tenant@system=1")]
    [InlineData("t@s=1", "t@s=1")]
    [InlineData("1foo=1", "1foo=1")]
    [InlineData("t@1s=1", "t@1s=1")]
    // test_tracestate_key_illegal_vendor_format: '@' may end a key or repeat.
    [InlineData("foo@=1,bar=2", "foo@=1,bar=2")]
    [InlineData("foo@@bar=1,bar=2", "foo@@bar=1,bar=2")]
    [InlineData("foo@bar@baz=1,bar=2", "foo@bar@baz=1,bar=2")]
    // Duplicate keys: the left-most is kept (the spec lets vendors discard duplicates).
    [InlineData("foo=1,foo=1", "foo=1")]
    [InlineData("foo=1,bar=2,foo=3", "foo=1,bar=2")]
    public void ValidValuesAreNormalized(string header, string expected)
    {
        Assert.True(TraceState.TryNormalize(header, out string? normalized));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(",")]
    [InlineData(" , \t, ")]
    public void EmptyHeaderIsValidWithoutMembers(string header)
    {
        Assert.True(TraceState.TryNormalize(header, out string? normalized));
        Assert.Null(normalized);
    }

    [Fact]
    public void NormalizedInputIsReturnedWithoutCopy()
    {
        string header = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
        Assert.True(TraceState.TryNormalize(header, out string? normalized));
        Assert.Same(header, normalized);
    }

    [Theory]
    // Illegal key characters (test_tracestate_key_illegal_characters).
    [InlineData("foo =1")]
    [InlineData("FOO=1")]
    [InlineData("foo.bar=1")]
    // A key starts with a lower-case letter or a digit (test_tracestate_key_illegal_vendor_format).
    [InlineData("@foo=1,bar=2")]
    [InlineData("_foo=1")]
    [InlineData("*foo=1")]
    // Illegal values (test_tracestate_value_illegal_characters).
    [InlineData("foo=bar=baz")]
    [InlineData("foo=,bar=3")]
    [InlineData("foo=a\tb")]
    [InlineData("foo=caf\u00e9")]
    [InlineData("foo=\u007f")]
    // No '=' at all, or no key.
    [InlineData("foo")]
    [InlineData("=1")]
    // One invalid member discards the valid ones too.
    [InlineData("foo=1,BAR=2")]
    public void InvalidValuesDiscardTheHeader(string header)
    {
        Assert.False(TraceState.TryNormalize(header, out string? normalized));
        Assert.Null(normalized);
    }

    [Fact]
    public void KeyLengthLimitIs256CharactersWhereverTheAtSignsAre()
    {
        // test_tracestate_key_length_limit (Level 2): 256 characters in all, '@' or not.
        Assert.True(TraceState.IsValidKey(new string('z', 256)));
        Assert.False(TraceState.IsValidKey(new string('z', 257)));
        Assert.True(TraceState.IsValidKey(new string('t', 241) + "@" + new string('v', 14)));
        Assert.True(TraceState.IsValidKey(new string('t', 242) + "@v"));
        Assert.True(TraceState.IsValidKey("t@" + new string('v', 15)));
        Assert.True(TraceState.IsValidKey(new string('t', 200) + "@" + new string('v', 55)));
        Assert.False(TraceState.IsValidKey(new string('t', 200) + "@" + new string('v', 56)));
    }

    [Fact]
    public void AllAllowedCharactersAreAccepted()
    {
        // test_tracestate_all_allowed_characters
        string keyWithoutVendor = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
        string keyWithVendor = keyWithoutVendor + "@a-z0-9_-*/";
        var value = new StringBuilder();
        for (char c = (char)0x20; c <= 0x7E; c++)
        {
            if (c != ',' && c != '=')
            {
                value.Append(c);
            }
        }

        Assert.True(TraceState.TryNormalize(keyWithoutVendor + "=" + value, out string? first));
        Assert.Equal(keyWithoutVendor + "=" + value, first);
        Assert.True(TraceState.TryNormalize(keyWithVendor + "=" + value, out string? second));
        Assert.Equal(keyWithVendor + "=" + value, second);
    }

    [Fact]
    public void ValueLengthLimitIs256()
    {
        Assert.True(TraceState.IsValidValue(new string('v', 256)));
        Assert.False(TraceState.IsValidValue(new string('v', 257)));
        Assert.False(TraceState.IsValidValue("v "));
        Assert.False(TraceState.IsValidValue(string.Empty));
    }

    [Fact]
    public void ThirtyTwoMembersAreKeptAndThirtyThreeDiscardTheHeader()
    {
        // test_tracestate_member_count_limit, with the headers combined as RFC 9110 says.
        string members32 = Members(32);
        Assert.True(TraceState.TryNormalize(members32, out string? normalized));
        Assert.Equal(members32, normalized);
        Assert.Equal(32, normalized!.Split(',').Length);

        Assert.False(TraceState.TryNormalize(Members(33), out _));

        // Empty members do not count toward the limit.
        Assert.True(TraceState.TryNormalize(members32 + ",,, ,", out string? withEmpty));
        Assert.Equal(members32, withEmpty);
    }

    [Fact]
    public void OversizedHeaderIsDiscarded()
    {
        Assert.False(TraceState.TryNormalize("foo=1" + new string(' ', 8192), out _));
    }

    private static string Members(int count)
    {
        var builder = new StringBuilder();
        for (int i = 1; i <= count; i++)
        {
            builder.Append(i == 1 ? string.Empty : ",").Append("bar").Append(i.ToString("00", System.Globalization.CultureInfo.InvariantCulture))
                .Append('=').Append(i.ToString("00", System.Globalization.CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }
}
