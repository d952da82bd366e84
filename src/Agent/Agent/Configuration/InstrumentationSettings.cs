namespace TraceAgent.Configuration;

// The slices of the settings that instrumentations receive: each one gets its own record (chosen by
// its line in InstrumentationRegistry), never the whole AgentSettings, so what an instrumentation
// can read is what it is documented to obey.

/// <summary>ASP.NET Core server spans: header capture, query redaction, excluded paths.</summary>
public sealed record AspNetCoreSettings(
    IReadOnlyList<string> RequestHeaders,
    IReadOnlyList<string> ResponseHeaders,
    bool RedactQuery,
    IReadOnlyList<string> ExcludedPaths);

/// <summary>HttpClient client spans: header capture, query redaction, excluded URLs.</summary>
public sealed record HttpClientSettings(
    IReadOnlyList<string> RequestHeaders,
    IReadOnlyList<string> ResponseHeaders,
    bool RedactQuery,
    IReadOnlyList<string> ExcludedUrls);

/// <summary>Database spans (Npgsql, EF Core): whether and how db.query.text is recorded.</summary>
public sealed record DatabaseSettings(bool QueryTextEnabled, bool SanitizeQueryText);

/// <summary>EF Core spans: the database settings, and whether Npgsql's own spans already cover Npgsql commands.</summary>
public sealed record EntityFrameworkCoreSettings(DatabaseSettings Database, bool NpgsqlTraced);

public sealed record RedisSettings(bool CaptureKeys);

public enum KafkaConsumerMode
{
    Parent,
    Link,
}

public sealed record KafkaSettings(KafkaConsumerMode ConsumerMode, IReadOnlyList<string> ExcludedTopics);
