using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Scoring;

/// <summary>The anomaly map (METHOD.md A.6) against a float64 loop written from the formula.</summary>
public class AnomalyMapTests
{
    [Theory]
    [InlineData(256, 256)]
    [InlineData(20, 12)]
    public void MatchesFormula(int height, int width)
    {
        var random = new SeededRandom(5);
        Tensor fine = TestFeatures.Gaussian(random, 1.5, 2, 6, 8, 8);
        Tensor coarse = TestFeatures.Gaussian(random, 1.0, 2, 3, 4, 4);
        Tensor map = AnomalyMap.Compute([fine, coarse], height, width);
        map.CheckShape("map", 2, 1, height, width);
        float[] scores = AnomalyMap.ImageScores(map);
        for (int b = 0; b < 2; b++)
        {
            double[] expected = new double[height * width];
            foreach (Tensor z in new[] { fine, coarse })
            {
                double[] up = Bilinear(Probability(z, b), z.H, z.W, height, width);
                for (int i = 0; i < expected.Length; i++) expected[i] += up[i] / 2;
            }
            double max = double.MinValue;
            for (int i = 0; i < expected.Length; i++)
            {
                expected[i] = 1 - expected[i];
                max = Math.Max(max, expected[i]);
                Assert.True(Math.Abs(map.Sample(b)[i] - expected[i]) < 1e-5, $"pixel {i}: {map.Sample(b)[i]} vs {expected[i]}");
            }
            Assert.Equal(max, scores[b], 5);
        }
    }

    private static double[] Probability(Tensor z, int b)
    {
        var p = new double[z.H * z.W];
        for (int i = 0; i < p.Length; i++)
        {
            double sum = 0;
            for (int c = 0; c < z.C; c++) sum += (double)z.Plane(b, c)[i] * z.Plane(b, c)[i];
            p[i] = Math.Exp(-0.5 * sum / z.C);
        }
        return p;
    }

    // PyTorch bilinear, align_corners = False, written independently.
    private static double[] Bilinear(double[] src, int ih, int iw, int oh, int ow)
    {
        var dst = new double[oh * ow];
        for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
        {
            double sy = Math.Max((y + 0.5) * ih / oh - 0.5, 0), sx = Math.Max((x + 0.5) * iw / ow - 0.5, 0);
            int y0 = (int)sy, x0 = (int)sx, y1 = Math.Min(y0 + 1, ih - 1), x1 = Math.Min(x0 + 1, iw - 1);
            double ly = sy - y0, lx = sx - x0;
            dst[y * ow + x] = (1 - ly) * ((1 - lx) * src[y0 * iw + x0] + lx * src[y0 * iw + x1]) + ly * ((1 - lx) * src[y1 * iw + x0] + lx * src[y1 * iw + x1]);
        }
        return dst;
    }
}
