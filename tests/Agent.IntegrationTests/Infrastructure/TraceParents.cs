using System.Diagnostics;

namespace TraceAgent.IntegrationTests.Infrastructure;

/// <summary>Incoming trace contexts for requests the tests send.</summary>
public static class TraceParents
{
    /// <summary>A new sampled W3C traceparent: a request carrying it is sampled by any parent-based sampler.</summary>
    public static string NewSampled() => $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01";
}
