using System.Text.Json;
using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Features;

/// <summary>Bicubic align-corners resize against PyTorch's F.interpolate (golden values from test/golden/ort_mscait.py).</summary>
public sealed class BicubicResizeTests
{
    // ATen's float32 weights differ from ours by up to 7e-7 (rounding inside its compiled kernel), which moves outputs
    // by up to ~2e-6; the formula itself is checked against a float64 brute force below.
    private const float Tolerance = 1e-5f;

    [Fact]
    public void MatchesTorchOnSmallUpAndDownSamplingCases()
    {
        using JsonDocument doc = MsCaitFixtures.Json("bicubic.json");
        int cases = 0;
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            int[] shape = MsCaitFixtures.Ints(c.GetProperty("shape"));
            int[] output = MsCaitFixtures.Ints(c.GetProperty("out"));
            var source = new Tensor(MsCaitFixtures.Floats(c.GetProperty("input")), 1, shape[0], shape[1], shape[2]);
            float[] expected = MsCaitFixtures.Floats(c.GetProperty("expected"));
            var destination = new Tensor(1);
            BicubicResize.AlignCorners(source, destination, output[0], output[1]);
            Assert.True(destination.SameShape([1, shape[0], output[0], output[1]]));
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(destination.Span[i] - expected[i]) <= Tolerance * Math.Max(1f, Math.Abs(expected[i])),
                    $"{Tensor.Format(shape)} -> {Tensor.Format(output)} at {i}: {destination.Span[i]} vs {expected[i]}");
            }
            cases++;
        }
        Assert.Equal(5, cases);
    }

    [Fact]
    public void Downsampling448To224MatchesTorchOnTheCaitInput()
    {
        using JsonDocument doc = MsCaitFixtures.Json("mscait.json");
        int[] picks = MsCaitFixtures.Ints(doc.RootElement.GetProperty("downsampled_224_indices"));
        float[] expected = MsCaitFixtures.Floats(doc.RootElement.GetProperty("downsampled_224_values"));
        var destination = new Tensor(1);
        BicubicResize.AlignCorners(MsCaitFixtures.Pattern(2, 448), destination, 224, 224);
        Assert.True(destination.SameShape([2, 3, 224, 224]));
        for (int k = 0; k < picks.Length; k++)
        {
            Assert.True(Math.Abs(destination.Span[picks[k]] - expected[k]) <= Tolerance * Math.Max(1f, Math.Abs(expected[k])),
                $"index {picks[k]}: {destination.Span[picks[k]]} vs {expected[k]}");
        }
    }

    [Fact]
    public void PlaneOverloadAgreesWithTheBruteForceFormula()
    {
        var rng = new SeededRandom(11);
        const int H = 13, W = 10, OH = 6, OW = 19;
        float[] src = new float[H * W];
        for (int i = 0; i < src.Length; i++) src[i] = (float)rng.NextGaussian();
        float[] dst = new float[OH * OW];
        BicubicResize.AlignCorners(src, H, W, dst, OH, OW);
        for (int y = 0; y < OH; y++)
        {
            for (int x = 0; x < OW; x++)
            {
                // Float64 reference written straight from the definition.
                double ry = y * (H - 1.0) / (OH - 1.0), rx = x * (W - 1.0) / (OW - 1.0);
                int iy = (int)Math.Floor(ry), ix = (int)Math.Floor(rx);
                double sum = 0;
                for (int m = -1; m <= 2; m++)
                    for (int n = -1; n <= 2; n++)
                        sum += Kernel(ry - (iy + m)) * Kernel(rx - (ix + n)) * src[Math.Clamp(iy + m, 0, H - 1) * W + Math.Clamp(ix + n, 0, W - 1)];
                Assert.True(Math.Abs(dst[y * OW + x] - sum) <= 1e-5 * Math.Max(1, Math.Abs(sum)), $"({y},{x}): {dst[y * OW + x]} vs {sum}");
            }
        }
    }

    private static double Kernel(double x)
    {
        const double A = -0.75;
        x = Math.Abs(x);
        if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
        if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
        return 0;
    }

    [Fact]
    public void RejectsBadSizes()
    {
        Assert.Throws<ArgumentException>(() => BicubicResize.AlignCorners(new float[4], 2, 2, new float[3], 2, 2));
        Assert.Throws<ArgumentException>(() => BicubicResize.AlignCorners(new Tensor(1, 1, 2, 2), new Tensor(1), 0, 3));
        Assert.Throws<ArgumentException>(() => BicubicResize.AlignCorners(new Tensor(4), new Tensor(1), 2, 2));
    }
}
