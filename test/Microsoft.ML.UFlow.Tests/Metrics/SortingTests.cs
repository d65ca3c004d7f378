using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Metrics;

namespace Microsoft.ML.UFlow.Tests.Metrics;

/// <summary>The radix sort and the k-way merge that the pixel evaluator relies on, against Array.Sort.</summary>
public sealed class SortingTests
{
    [Theory]
    [InlineData(1UL, 0)]
    [InlineData(2UL, 1)]
    [InlineData(3UL, 5000)]
    [InlineData(4UL, 70000)]
    public void RadixSortOrdersByUpperHalfAndIsStable(ulong seed, int n)
    {
        var rng = new SeededRandom(seed);
        var data = new ulong[n];
        for (int i = 0; i < n; i++)
        {
            // Few distinct keys in some seeds (ties), full range in others; the low half records the input position.
            uint key = seed % 2 == 0 ? (uint)rng.NextInt(7) << 20 : (uint)rng.NextUInt64();
            data[i] = ((ulong)key << 32) | (uint)i;
        }
        var expected = data.OrderBy(v => v >> 32).ThenBy(v => (uint)v).ToArray(); // stable order
        RadixSort.SortByHighHalf(data, new ulong[n]);
        Assert.Equal(expected, data);
    }

    [Theory]
    [InlineData(5UL, 1)]
    [InlineData(6UL, 3000)]
    [InlineData(7UL, 100000)]
    public void RadixSortOfKeysMatchesArraySort(ulong seed, int n)
    {
        var rng = new SeededRandom(seed);
        var data = new uint[n];
        for (int i = 0; i < n; i++) data[i] = seed == 6 ? (uint)rng.NextInt(5) : (uint)rng.NextUInt64();
        var expected = data.Order().ToArray();
        RadixSort.Sort(data, new uint[n]);
        Assert.Equal(expected, data);
    }

    private struct CollectingSink(List<ulong> words, List<int> segmentSizes) : ISegmentSink
    {
        public readonly void Consume(ReadOnlySpan<ulong> segment)
        {
            segmentSizes.Add(segment.Length);
            foreach (ulong v in segment) words.Add(v);
        }
    }

    [Theory]
    [InlineData(1 << 21)] // everything gathered in one go
    [InlineData(64)]      // ranges cut down to single keys or 64 words
    [InlineData(1)]
    public void WalkerVisitsKeysInGlobalOrder(int capacity)
    {
        var rng = new SeededRandom(8);
        var runs = new List<ulong[]>();
        var all = new List<ulong>();
        for (int r = 0; r < 37; r++)
        {
            int len = r % 5 == 0 ? 0 : rng.NextInt(300);
            var run = new ulong[len];
            for (int i = 0; i < len; i++)
            {
                // Mix of massive ties (a handful of keys), spread keys, and the extreme keys 0 and 2^32 - 1.
                uint key = (r % 3) switch
                {
                    0 => (uint)rng.NextInt(4) * 1000u,
                    1 => (uint)rng.NextUInt64(),
                    _ => rng.NextInt(2) == 0 ? 0u : uint.MaxValue,
                };
                run[i] = ((ulong)key << 32) | (uint)rng.NextInt(1000);
            }
            RadixSort.SortByHighHalf(run, new ulong[len]);
            runs.Add(run);
            all.AddRange(run);
        }
        var words = new List<ulong>();
        var sizes = new List<int>();
        var sink = new CollectingSink(words, sizes);
        SortedRunWalker.Walk(runs, ref sink, capacity);
        Assert.All(sizes, n => Assert.True(n > 0));
        Assert.Equal(all.Select(v => (uint)(v >> 32)).Order(), words.Select(v => (uint)(v >> 32)));
        Assert.Equal(all.Order(), words.Order());
    }

    [Fact]
    public void PixelMetricsDoNotDependOnTheGatherCapacity()
    {
        var rng = new SeededRandom(21);
        var maps = new List<(float[] S, float[] G)>();
        for (int i = 0; i < 12; i++)
        {
            var s = new float[400];
            var g = new float[400];
            for (int p = 0; p < 400; p++)
            {
                g[p] = (p / 20 + i) % 7 == 0 && p % 20 < 6 ? 1f : 0f;
                s[p] = MathF.Round((float)(rng.NextGaussian() + g[p]) * 3) / 3;
            }
            maps.Add((s, g));
        }
        PixelMetrics Evaluate(int capacity)
        {
            var evaluator = new PixelEvaluator { GatherCapacity = capacity };
            foreach (var (s, g) in maps) evaluator.Add(s, g, 20, 20);
            return evaluator.Compute();
        }
        var reference = Evaluate(1 << 21);
        foreach (int capacity in new[] { 1, 7, 100 })
        {
            var m = Evaluate(capacity);
            Assert.Equal(reference.Auroc, m.Auroc, 15);
            Assert.Equal(reference.Aupro, m.Aupro, 12); // PRO sums may add in another order
            Assert.Equal(reference.F1Max, m.F1Max, 15);
            Assert.Equal(reference.F1MaxThreshold, m.F1MaxThreshold);
        }
        Assert.False(double.IsNaN(reference.Aupro));
    }
}
