using TraceAgent.Otlp.Receiver;
using TraceAgent.Viewer.Analysis;
using TraceAgent.Viewer.Storage;

namespace TraceAgent.Tests.Viewer;

public sealed class TraceStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("traceagent-store-").FullName;
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

    private string DbPath => Path.Combine(_directory, "traces.db");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_file_store_gives_back_every_trace_after_reopening_with_attribute_types_events_links_and_logs()
    {
        var attributes = new Dictionary<string, object?>
        {
            ["text"] = "é \"quoted\"",
            ["count"] = 42L,
            ["ratio"] = 0.25,
            ["nan"] = double.NaN,
            ["flag"] = true,
            ["bytes"] = new byte[] { 1, 2, 255 },
            ["list"] = new object?[] { "a", 1L, null },
            ["map"] = new Dictionary<string, object?> { ["inner"] = false },
        };
        List<ReceivedSpan> spans = StoreTestData.Checkout(1, fail: true);
        spans[0] = StoreTestData.Span(
            1,
            1,
            null,
            "frontend",
            "POST /checkout",
            0,
            100,
            SpanKinds.Server,
            error: true,
            attributes,
            events: [new ReceivedSpanEvent { Name = "exception", TimeUnixNano = StoreTestData.Origin + 5, Attributes = new Dictionary<string, object?> { ["exception.type"] = "Boom" } }],
            links: [new ReceivedSpanLink { TraceId = StoreTestData.TraceId(9), SpanId = StoreTestData.SpanId(9, 1), Attributes = new Dictionary<string, object?> { ["kind"] = "retry" } }]);
        var log = new ReceivedLogRecord
        {
            TraceId = StoreTestData.TraceId(1),
            SpanId = StoreTestData.SpanId(1, 3),
            TimeUnixNano = StoreTestData.Origin + 7,
            SeverityNumber = 17,
            SeverityText = "Error",
            Body = "order {Id} failed",
            Attributes = new Dictionary<string, object?> { ["Id"] = 7L },
        };

        using (TraceStore store = Open())
        {
            store.PutAll([StoreTestData.Report(spans, [log])]);
        }

        using TraceStore reopened = Open();
        Assert.Equal(1, reopened.Loaded);
        StoredTrace trace = Assert.IsType<StoredTrace>(reopened.Get(StoreTestData.TraceId(1)));
        ReceivedSpan root = trace.Tree.Find(StoreTestData.SpanId(1, 1))!.Span;
        Assert.Equal("é \"quoted\"", root.Attributes["text"]);
        Assert.Equal(42L, root.Attributes["count"]);
        Assert.Equal(0.25, root.Attributes["ratio"]);
        Assert.True(double.IsNaN((double)root.Attributes["nan"]!));
        Assert.Equal(true, root.Attributes["flag"]);
        Assert.Equal(new byte[] { 1, 2, 255 }, root.Attributes["bytes"]);
        Assert.Equal(new object?[] { "a", 1L, null }, root.Attributes["list"]);
        Assert.Equal(false, Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(root.Attributes["map"])["inner"]);
        Assert.Equal("Boom", Assert.Single(root.Events).Attributes["exception.type"]);
        Assert.Equal(StoreTestData.SpanId(9, 1), Assert.Single(root.Links).SpanId);
        Assert.Equal("frontend", root.ServiceName);
        Assert.Equal(2, root.StatusCode);
        Assert.Equal(StoreTestData.Origin + 100_000_000, root.EndTimeUnixNano);
        Assert.Equal(4, trace.Tree.Spans.Count);
        Assert.Equal("order {Id} failed", Assert.Single(trace.Tree.Find(StoreTestData.SpanId(1, 3))!.Logs).Body);

        // The findings are kept with the trace: the error still starts in the INSERT.
        Finding origin = Assert.Single(trace.Findings, f => f.Rule == ErrorOriginRule.Id);
        Assert.Equal(StoreTestData.SpanId(1, 4), origin.SpanIds[0]);
        Assert.True(reopened.IsLinked(StoreTestData.SpanId(9, 1)));
    }

    [Fact]
    public void The_count_bound_drops_the_oldest_traces_and_counts_them_across_reopening()
    {
        using (TraceStore store = Open(maxTraces: 3))
        {
            for (int i = 1; i <= 5; i++)
            {
                store.PutAll([StoreTestData.Report(StoreTestData.Checkout(i))]);
                _time.Now += TimeSpan.FromSeconds(1);
            }

            Assert.Equal(3, store.Count);
            Assert.Equal(2, store.Dropped);
            Assert.Null(store.Get(StoreTestData.TraceId(1)));
            Assert.Null(store.Get(StoreTestData.TraceId(2)));
            Assert.NotNull(store.Get(StoreTestData.TraceId(5)));
        }

        using TraceStore reopened = Open(maxTraces: 3);
        Assert.Equal(3, reopened.Loaded);
        Assert.Equal(2, reopened.Dropped);
        Assert.Equal([StoreTestData.TraceId(3), StoreTestData.TraceId(4), StoreTestData.TraceId(5)], reopened.InStoredOrder().Select(t => t.Tree.TraceId));

        // A smaller bound applies to what was kept, at once.
        reopened.Dispose();
        using TraceStore smaller = Open(maxTraces: 1);
        Assert.Equal(1, smaller.Count);
        Assert.Equal(4, smaller.Dropped);
        Assert.NotNull(smaller.Get(StoreTestData.TraceId(5)));
    }

    [Fact]
    public void The_age_bound_drops_traces_stored_longer_ago_than_the_maximum_age()
    {
        using TraceStore store = Open(maxAge: TimeSpan.FromHours(1));
        store.PutAll([StoreTestData.Report(StoreTestData.Checkout(1))]);
        _time.Now += TimeSpan.FromMinutes(40);
        store.PutAll([StoreTestData.Report(StoreTestData.Checkout(2))]);
        _time.Now += TimeSpan.FromMinutes(30);

        Assert.Equal(1, store.Prune());
        Assert.Null(store.Get(StoreTestData.TraceId(1)));
        Assert.NotNull(store.Get(StoreTestData.TraceId(2)));
        Assert.Equal(1, store.Dropped);

        _time.Now += TimeSpan.FromMinutes(31);
        store.Dispose();
        using TraceStore reopened = Open(maxAge: TimeSpan.FromHours(1));
        Assert.Equal(0, reopened.Count);
        Assert.Equal(2, reopened.Dropped);
    }

    [Fact]
    public void A_trace_stored_again_replaces_the_earlier_copy_and_its_operations()
    {
        using TraceStore store = Open();
        store.PutAll([StoreTestData.Report(StoreTestData.Checkout(1).Take(2).ToList())]);
        Assert.Equal(["frontend"], store.Services());

        store.PutAll([StoreTestData.Report(StoreTestData.Checkout(1))]);
        Assert.Equal(1, store.Count);
        Assert.Equal(4, store.Get(StoreTestData.TraceId(1))!.Tree.Spans.Count);
        Assert.Equal(["frontend", "orders"], store.Services());
        Assert.Equal([("INSERT orders", SpanKinds.Client), ("POST /orders", SpanKinds.Server)], store.Operations("orders"));
        Assert.Equal([("POST /orders", SpanKinds.Server)], store.Operations("orders", SpanKinds.Server));
    }

    [Fact]
    public void A_memory_store_keeps_traces_without_a_file()
    {
        using TraceStore store = TraceStore.Open(new StoreOptions { DatabasePath = null, MaxTraces = 2 }, _time);
        for (int i = 1; i <= 3; i++)
        {
            store.PutAll([StoreTestData.Report(StoreTestData.Checkout(i))]);
            _time.Now += TimeSpan.FromSeconds(1);
        }

        Assert.Null(store.DatabasePath);
        Assert.Equal(2, store.Count);
        Assert.Equal(1, store.Dropped);
        Assert.Empty(Directory.GetFiles(_directory));
    }

    [Fact]
    public void A_second_store_on_the_same_file_is_refused_with_a_message_that_says_why()
    {
        using TraceStore first = Open();
        first.PutAll([StoreTestData.Report(StoreTestData.Checkout(1))]);

        IOException error = Assert.Throws<IOException>(() => Open().Dispose());
        Assert.Contains(DbPath, error.Message, StringComparison.Ordinal);
        Assert.Contains("another process", error.Message, StringComparison.Ordinal);
        Assert.Contains("--memory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_row_that_cannot_be_read_is_skipped_and_counted()
    {
        using (TraceStore store = Open())
        {
            store.PutAll([StoreTestData.Report(StoreTestData.Checkout(1)), StoreTestData.Report(StoreTestData.Checkout(2))]);
        }

        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            connection.Open();
            using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
            command.CommandText = "UPDATE traces SET data = x'00010203' WHERE trace_id = $id";
            command.Parameters.AddWithValue("$id", StoreTestData.TraceId(1));
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        using TraceStore reopened = Open();
        Assert.Equal(1, reopened.Loaded);
        Assert.Equal(1, reopened.Unreadable);
        Assert.NotNull(reopened.Get(StoreTestData.TraceId(2)));
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_refused_with_its_name()
    {
        File.WriteAllText(DbPath, "not a database, just text that is long enough to fill a header page of sqlite........");
        IOException error = Assert.Throws<IOException>(() => Open().Dispose());
        Assert.Contains(DbPath, error.Message, StringComparison.Ordinal);
    }

    private TraceStore Open(int maxTraces = 100, TimeSpan? maxAge = null) =>
        TraceStore.Open(new StoreOptions { DatabasePath = DbPath, MaxTraces = maxTraces, MaxAge = maxAge ?? TimeSpan.FromDays(7) }, _time);
}
