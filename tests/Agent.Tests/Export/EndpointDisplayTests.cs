using TraceAgent.Export;

namespace TraceAgent.Tests.Export;

public sealed class EndpointDisplayTests
{
    [Theory]
    [InlineData("collector:4318/v1/traces?api_key=secret", "collector:4318/v1/traces?REDACTED")]
    [InlineData("grpc://user:secret@collector:4317", "grpc://collector:4317")]
    [InlineData("user:secret@collector:4318/v1/traces", "collector:4318/v1/traces")]
    [InlineData("ftp://user:se/cret@collector/v1/traces?x=1#frag", "ftp://collector/v1/traces?REDACTED")]
    [InlineData("collector:4318/v1/traces#secret", "collector:4318/v1/traces")]
    [InlineData("collector:4318/v1/traces?", "collector:4318/v1/traces")]
    [InlineData("not a url", "not a url")]
    [InlineData("", "")]
    public void A_rejected_endpoint_value_is_shown_without_credentials_or_query_values(string value, string shown) =>
        Assert.Equal(shown, EndpointDisplay.OfText(value));

    [Fact]
    public void A_usable_endpoint_is_shown_without_credentials_or_query_values() =>
        Assert.Equal("https://collector:4318/v1/traces?REDACTED", EndpointDisplay.Of(new Uri("https://user:secret@collector:4318/v1/traces?api_key=secret")));
}
