namespace TraceAgent.Otlp.Receiver;

/// <summary>The OTLP span kind numbers, for readable assertions and messages.</summary>
public static class SpanKinds
{
    public const int Unspecified = 0;
    public const int Internal = 1;
    public const int Server = 2;
    public const int Client = 3;
    public const int Producer = 4;
    public const int Consumer = 5;

    public static string ToName(int kind) => kind switch
    {
        Internal => "internal",
        Server => "server",
        Client => "client",
        Producer => "producer",
        Consumer => "consumer",
        Unspecified => "unspecified",
        _ => "kind" + kind.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
