using System.Text.Json;
using TraceAgent.Viewer.Metrics;

namespace TraceAgent.Viewer.Api;

/// <summary>The metrics page's JSON: per service, its routes over the window, with the exemplars that lead to traces.</summary>
internal static class MetricsJson
{
    public static void Write(Utf8JsonWriter json, string window, RouteMetricsReport report, Func<string, bool> isStored)
    {
        double seconds = (report.ToUnixNano - report.FromUnixNano) / 1e9;
        json.WriteStartObject();
        json.WriteString("window", window);
        json.WriteNumber("windowSeconds", seconds);
        json.WriteNumber("fromUnixMs", report.FromUnixNano / 1_000_000);
        json.WriteNumber("toUnixMs", report.ToUnixNano / 1_000_000);
        json.WriteString("metric", RouteMetricsStore.DurationMetric);
        json.WriteNumber("series", report.Series);
        json.WriteNumber("maxSeries", RouteMetricsStore.MaxSeries);
        json.WriteNumber("droppedSeries", report.DroppedSeries);
        json.WriteStartArray("services");
        foreach (IGrouping<string, RouteMetrics> service in report.Routes.GroupBy(r => r.Service))
        {
            json.WriteStartObject();
            json.WriteString("service", service.Key);
            json.WriteStartArray("routes");
            foreach (RouteMetrics route in service)
            {
                json.WriteStartObject();
                json.WriteString("route", route.Route);
                json.WriteString("method", route.Method);
                json.WriteNumber("requests", route.Requests);
                json.WriteNumber("errors", route.Errors);
                json.WriteNumber("ratePerSecond", route.Requests / seconds);
                json.WriteNumber("errorRate", route.Requests == 0 ? 0 : (double)route.Errors / route.Requests);
                WriteMicros(json, "p50Us", route.P50Seconds);
                WriteMicros(json, "p95Us", route.P95Seconds);
                WriteMicros(json, "p99Us", route.P99Seconds);
                json.WriteStartArray("exemplars");
                foreach (Exemplar exemplar in route.Exemplars)
                {
                    json.WriteStartObject();
                    json.WriteString("traceId", exemplar.TraceId);
                    json.WriteString("spanId", exemplar.SpanId);
                    json.WriteNumber("durationUs", exemplar.Seconds * 1e6);
                    json.WriteNumber("timeUnixMs", exemplar.TimeUnixNano / 1_000_000);
                    json.WriteNumber("statusCode", exemplar.StatusCode);
                    json.WriteBoolean("error", exemplar.Error);
                    json.WriteBoolean("stored", isStored(exemplar.TraceId));
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteMicros(Utf8JsonWriter json, string name, double? seconds)
    {
        if (seconds is double value)
        {
            json.WriteNumber(name, value * 1e6);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
