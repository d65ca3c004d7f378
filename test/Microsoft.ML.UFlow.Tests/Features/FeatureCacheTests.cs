using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Features;

public sealed class FeatureCacheTests
{
    private static Tensor[] RandomMaps(int n, ulong seed)
    {
        var rng = new SeededRandom(seed);
        Tensor[] maps = [new Tensor(n, 4, 6, 6), new Tensor(n, 8, 3, 3)];
        foreach (Tensor m in maps)
            for (int i = 0; i < m.Length; i++) m.Span[i] = (float)rng.NextGaussian();
        return maps;
    }

    [Fact]
    public void SamplesPastTheBudgetSpillToDiskAndReadBackExactly()
    {
        const int SampleBytes = (4 * 36 + 8 * 9) * 4;
        string dir = Path.Combine(Path.GetTempPath(), "uflow-cache-test-" + Guid.NewGuid().ToString("N"));
        Tensor[] a = RandomMaps(3, 1), b = RandomMaps(2, 2);
        string? spillPath;
        using (var cache = new FeatureCache(memoryBudgetBytes: 4 * SampleBytes, spillDirectory: dir))
        {
            Assert.Equal(0, cache.Add(a));
            Assert.Equal(3, cache.Add(b));
            Assert.Equal(5, cache.Count);
            Assert.Equal(4L * SampleBytes, cache.MemoryBytes);
            Assert.Equal(SampleBytes, cache.SpilledBytes);
            spillPath = cache.SpillPath;
            Assert.True(File.Exists(spillPath));

            Tensor[] batch = [new Tensor(1), new Tensor(1)];
            int[] order = [4, 0, 3, 2, 1]; // sample 4 is on disk
            cache.ReadBatch(order, batch);
            Assert.True(batch[0].SameShape([5, 4, 6, 6]));
            Assert.True(batch[1].SameShape([5, 8, 3, 3]));
            for (int k = 0; k < order.Length; k++)
            {
                Tensor[] source = order[k] < 3 ? a : b;
                int i = order[k] < 3 ? order[k] : order[k] - 3;
                for (int s = 0; s < 2; s++) Assert.Equal(source[s].Sample(i).ToArray(), batch[s].Sample(k).ToArray());
            }
        }
        Assert.False(File.Exists(spillPath));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void ZeroBudgetKeepsEverythingOnDisk()
    {
        using var cache = new FeatureCache(memoryBudgetBytes: 0);
        Tensor[] maps = RandomMaps(2, 3);
        cache.Add(maps);
        Assert.Equal(0, cache.MemoryBytes);
        Tensor[] one = [new Tensor(1), new Tensor(1)];
        cache.Read(1, one);
        Assert.Equal(maps[1].Sample(1).ToArray(), one[1].Span.ToArray());
    }

    [Fact]
    public void MismatchedShapesAndBadIndicesAreRejected()
    {
        using var cache = new FeatureCache();
        cache.Add(RandomMaps(1, 4));
        var e = Assert.Throws<ArgumentException>(() => cache.Add([new Tensor(1, 4, 6, 6), new Tensor(1, 8, 4, 4)]));
        Assert.Contains("Map 1", e.Message);
        Assert.Throws<ArgumentException>(() => cache.Add([new Tensor(2, 4, 6, 6), new Tensor(1, 8, 3, 3)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.ReadBatch([1], [new Tensor(1), new Tensor(1)]));
    }

    [Fact]
    public void ABadFirstBatchLeavesTheCacheUnchanged()
    {
        using var cache = new FeatureCache();
        // Map 1 disagrees with map 0 on the batch size: refused, and the shapes of this batch must not stick.
        Assert.Throws<ArgumentException>(() => cache.Add([new Tensor(2, 5, 2, 2), new Tensor(1, 8, 3, 3)]));
        Assert.Equal(0, cache.Count);
        Assert.Null(cache.SampleShapes);
        Tensor[] good = RandomMaps(2, 5);
        Assert.Equal(0, cache.Add(good));
        Tensor[] one = [new Tensor(1), new Tensor(1)];
        cache.Read(1, one);
        Assert.Equal(good[0].Sample(1).ToArray(), one[0].Span.ToArray());
        Assert.Equal(good[1].Sample(1).ToArray(), one[1].Span.ToArray());
    }
}
