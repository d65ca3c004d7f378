using Microsoft.ML.UFlow.Metrics;
using Microsoft.ML.UFlow.Nn;

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

    [Fact]
    public void MergerVisitsKeysInGlobalOrder()
    {
        var rng = new SeededRandom(8);
        var runs = new List<ulong[]>();
        var all = new List<ulong>();
        for (int r = 0; r < 37; r++)
        {
            int len = r % 5 == 0 ? 0 : rng.NextInt(300);
            var run = new ulong[len];
            for (int i = 0; i < len; i++) run[i] = ((ulong)(uint)rng.NextInt(r % 2 == 0 ? 50 : 100000) << 32) | (uint)rng.NextInt(1000);
            RadixSort.SortByHighHalf(run, new ulong[len]);
            runs.Add(run);
            all.AddRange(run);
        }
        var merger = new SortedRunMerger(runs);
        var keys = new List<uint>();
        var multiset = new List<ulong>();
        while (merger.TryNextSegment(out var segment))
        {
            Assert.False(segment.IsEmpty);
            foreach (ulong v in segment)
            {
                keys.Add((uint)(v >> 32));
                multiset.Add(v);
            }
        }
        Assert.Equal(all.Select(v => (uint)(v >> 32)).Order(), keys);
        Assert.Equal(all.Order(), multiset.Order());
    }
}
