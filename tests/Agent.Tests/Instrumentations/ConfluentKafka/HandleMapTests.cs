using TraceAgent.Instrumentation.ConfluentKafka;

namespace TraceAgent.Tests.Instrumentations.ConfluentKafka;

// The Kafka instrumentation's map from native handles and delivery tokens to what it tracks, held
// to what a Dictionary does with the same operations, and read while other threads write.
public sealed class HandleMapTests
{
    [Fact]
    public void It_holds_what_a_dictionary_holds_through_adds_replacements_and_removals()
    {
        var map = new HandleMap<string>();
        var model = new Dictionary<nint, string>();
        var random = new Random(7);
        for (var step = 0; step < 20_000; step++)
        {
            // Keys as both kinds look: pointer-aligned handles and odd tokens, few enough to collide.
            nint key = random.Next(2) == 0 ? (nint)(0x7f00_0000_1000L + (random.Next(300) * 16)) : (nint)((random.Next(300) * 2) + 1);
            var value = "v" + step;
            switch (random.Next(6))
            {
                case 5 when !model.ContainsKey(key):
                    map.AddNew(key, value);
                    model[key] = value;
                    break;
                case 0:
                    map.Set(key, value);
                    model[key] = value;
                    break;
                case 1:
                    Assert.Equal(model.TryAdd(key, value), map.TryAdd(key, value));
                    break;
                case 2:
                    Assert.Equal(model.TryGetValue(key, out var held) ? held : value, map.GetOrAdd(key, value));
                    model.TryAdd(key, value);
                    break;
                case 3:
                    Assert.Equal(model.Remove(key, out var removed), map.TryRemove(key, out var taken));
                    Assert.Equal(removed, taken);
                    break;
                default:
                    Assert.Equal(model.TryGetValue(key, out var expected), map.TryGetValue(key, out var found));
                    Assert.Equal(expected, found);
                    break;
            }

            Assert.Equal(model.Count, map.Count);
        }

        Assert.Equal(model.Values.Order(StringComparer.Ordinal), map.Values().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void RemoveWhere_takes_out_exactly_the_matching_values()
    {
        var map = new HandleMap<string>();
        for (nint key = 1; key <= 1001; key += 2)
        {
            map.Set(key, key % 3 == 0 ? "a" + key : "b" + key);
        }

        var removed = map.RemoveWhere(v => v.StartsWith('a'));

        Assert.Equal(167, removed.Count);
        Assert.All(removed, v => Assert.StartsWith("a", v, StringComparison.Ordinal));
        Assert.Equal(501 - 167, map.Count);
        Assert.All(map.Values(), v => Assert.StartsWith("b", v, StringComparison.Ordinal));
        Assert.False(map.TryGetValue(3, out _));
        Assert.True(map.TryGetValue(1, out var kept));
        Assert.Equal("b1", kept);
    }

    [Fact]
    public async Task A_reader_always_finds_a_key_that_stays_while_others_come_and_go()
    {
        // Keys 1..63 (odd) stay for the whole test; two writers add and remove thousands of others,
        // which grows the table and rewrites the chains the stable keys live in.
        var map = new HandleMap<string>();
        for (nint key = 1; key < 64; key += 2)
        {
            map.Set(key, "stable" + key);
        }

        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
        {
            for (var round = 0; round < 200; round++)
            {
                for (nint key = 1001 + (w * 2); key < 5001; key += 4)
                {
                    map.Set(key, "churn");
                }

                for (nint key = 1001 + (w * 2); key < 5001; key += 4)
                {
                    Assert.True(map.TryRemove(key, out _));
                }
            }
        })).ToArray();

        var reader = Task.Run(() =>
        {
            var misses = 0;
            var reads = 0;
            while (!writers.All(w => w.IsCompleted))
            {
                for (nint key = 1; key < 64; key += 2)
                {
                    reads++;
                    if (!map.TryGetValue(key, out var value) || value != "stable" + key)
                    {
                        misses++;
                    }
                }
            }

            return (misses, reads);
        });

        await Task.WhenAll(writers);
        var (misses, reads) = await reader;
        Assert.True(reads > 0);
        Assert.Equal(0, misses);
        Assert.Equal(32, map.Count);
    }
}
