using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Tensors;

public sealed unsafe class GemmTests
{
    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string>();
        foreach (var k in GemmKernel.Supported()) data.Add(k.Name);
        return data;
    }

    private static GemmKernel Kernel(string name) => GemmKernel.Supported().Single(k => k.Name == name);

    [Theory]
    [MemberData(nameof(Kernels))]
    public void MatchesNaiveLoopsOnAwkwardSizes(string kernelName)
    {
        GemmKernel kernel = Kernel(kernelName);
        var random = new SeededRandom(7);
        // Sizes straddle the tile (MR, NR), the vector width and the cache blocks (KC = 256, NC = 384, MC = 240).
        int[][] sizes = [[1, 1, 1], [7, 17, 33], [17, 65, 7], [33, 7, 65], [65, 33, 17], [13, 400, 300], [250, 37, 513], [12, 32, 256]];
        foreach (int[] s in sizes)
        {
            int m = s[0], n = s[1], k = s[2];
            foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            foreach (int threads in new[] { 1, 2 })
            {
                float[] a = ConvReference.Random(random, m * k), b = ConvReference.Random(random, k * n), c = ConvReference.Random(random, m * n);
                var expected = new double[m * n];
                for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double sum = c[i * n + j];
                    for (int p = 0; p < k; p++) sum += (double)(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                    expected[i * n + j] = sum;
                }
                fixed (float* pa = a, pb = b, pc = c)
                {
                    Gemm.MultiplyCore(kernel, pa, pb, pc, m, n, k, ta, tb, threads);
                }
                // float32 accumulation of k products of values in [-1, 1]: error grows like √k·ε.
                ConvReference.AssertClose(c, expected, 2e-6 * Math.Sqrt(k), $"{kernelName} GEMM {m}×{n}×{k} tA={ta} tB={tb} threads={threads}");
            }
        }
    }

    [Fact]
    public void PublicMultiplyOverwritesOrAccumulatesAndChecksLengths()
    {
        float[] a = [1, 2, 3, 4], b = [5, 6, 7, 8], c = [100, 100, 100, 100];
        Gemm.Multiply(a, b, c, 2, 2, 2);
        Assert.Equal([19f, 22f, 43f, 50f], c);
        Gemm.Multiply(a, b, c, 2, 2, 2, accumulate: true);
        Assert.Equal([38f, 44f, 86f, 100f], c);
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, new float[3], 2, 2, 2));
        Assert.Contains("'c'", ex.Message);
    }

    [Fact]
    public void ResultsAreBitIdenticalForAnyThreadCount()
    {
        var random = new SeededRandom(3);
        int m = 70, n = 900, k = 700;
        float[] a = ConvReference.Random(random, m * k), b = ConvReference.Random(random, k * n);
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3, 5 })
        {
            var c = new float[m * n];
            fixed (float* pa = a, pb = b, pc = c)
            {
                Gemm.MultiplyCore(GemmKernel.Best, pa, pb, pc, m, n, k, false, false, threads);
            }
            if (first is null) first = c;
            else Assert.True(first.AsSpan().SequenceEqual(c), $"threads={threads} differs from threads=1");
        }
    }
}
