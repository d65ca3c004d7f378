using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Metrics;

namespace Microsoft.ML.UFlow.Tests.Metrics;

/// <summary>Hand-checked cases for components, IoU, the sweep, the fair threshold and the detection rate.</summary>
public sealed class ThresholdAndImageMetricTests
{
    [Fact]
    public void ComponentsUseEightConnectivity()
    {
        // Diagonal chain = one region (it would be three with 4-connectivity); the isolated pixel is a second one.
        bool[] mask =
        [
            true, false, false, false, false,
            false, true, false, false, false,
            false, false, true, false, true,
            false, false, false, false, false,
        ];
        var labels = new int[mask.Length];
        Assert.Equal(2, ConnectedComponents.Label8(mask, 4, 5, labels));
        Assert.Equal([1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0], labels);
        Assert.Equal(0, ConnectedComponents.Label8(new bool[6], 2, 3, new int[6]));
        Assert.Equal(1, ConnectedComponents.Label8([true, false, true, false, true, false, true, false, true], 3, 3, new int[9])); // checkerboard
    }

    [Fact]
    public void IouFollowsUFlowDefinition()
    {
        Assert.Equal(1.0, IntersectionOverUnion.Compute([false, false], [0f, 0f])); // normal image, no detection
        Assert.True(IntersectionOverUnion.Compute([true, false], [0f, 0f]) < 1e-15); // normal image, one false positive
        Assert.Equal(0.5, IntersectionOverUnion.Compute([true, true], [1f, 0f]), 15);
        Assert.Equal(1.0 / 3, IntersectionOverUnion.Compute([1f, 2f, 3f], 1.5, [1f, 0.4f, 0.6f]), 15); // P={1,2}, G={0,2}
        var acc = new MeanIouAccumulator();
        acc.Add([false, false], [0f, 0f]);
        acc.Add([true, true], [1f, 0f]);
        Assert.Equal(0.75, acc.Mean, 15);
        Assert.Equal(2, acc.Count);
    }

    [Fact]
    public void SweepEqualsAccumulatorAtEveryThresholdOnTheNfaGrid()
    {
        var rng = new SeededRandom(9);
        var sweep = MeanIouSweep.ForNegativeLogNfa();
        Assert.Equal(1401, sweep.Thresholds.Count);
        Assert.Equal(-400, sweep.Thresholds[0]);
        Assert.Equal(1000, sweep.Thresholds[^1]);
        var maps = new List<(float[] S, float[] G)>();
        for (int i = 0; i < 6; i++)
        {
            var s = new float[64];
            var g = new float[64];
            for (int p = 0; p < 64; p++)
            {
                g[p] = i > 1 && p % 7 == 0 ? 1f : 0f;
                // −log10 NFA-like values: mostly negative, some large, integers included (equality with the grid).
                s[p] = rng.NextDouble() < 0.3 ? (float)Math.Round(rng.NextGaussian() * 50) : (float)(rng.NextGaussian() * 300 + (g[p] > 0 ? 200 : -100));
            }
            maps.Add((s, g));
            sweep.Add(s, g);
        }
        double[] all = sweep.MeanIous();
        foreach (int j in new[] { 0, 100, 399, 400, 401, 700, 1400 })
        {
            var acc = new MeanIouAccumulator();
            foreach (var (s, g) in maps) acc.Add(s, sweep.Thresholds[j], g);
            Assert.Equal(acc.Mean, all[j], 14);
        }
        Assert.Equal(all[400], sweep.MeanIouAt(0));
        Assert.Equal(all.Max(), sweep.Best().MeanIou);
        Assert.Throws<ArgumentException>(() => sweep.MeanIouAt(0.5));

        // The integer-grid shortcut against the general search: edge values around the thresholds.
        float[] edges = [-1e30f, -401f, -400f, -399.5f, -1e-30f, -0f, 0f, 1e-30f, 1e-7f, 0.5f, 1f, 999.99994f, 1000f, 1001f, 3e38f, float.PositiveInfinity, float.NegativeInfinity];
        var gt = new float[edges.Length];
        var general = new MeanIouSweep(sweep.Thresholds.Select(t => t + 1e-300 * 0).Append(5000.5)); // not a pure integer grid
        var fast = MeanIouSweep.ForNegativeLogNfa();
        for (int e = 0; e < edges.Length; e++)
        {
            gt[e] = e % 2;
        }
        general.Add(edges, gt);
        fast.Add(edges, gt);
        Assert.Equal(fast.MeanIous(), general.MeanIous().Take(1401));
        foreach (int j in new[] { 0, 399, 400, 401, 1399, 1400 })
        {
            Assert.Equal(IntersectionOverUnion.Compute(edges, sweep.Thresholds[j], gt), fast.MeanIous()[j]);
        }
    }

    [Fact]
    public void FairThresholdReproducesSklearnDropIntermediate()
    {
        // Ten distinct scores 0..9: sklearn keeps only (0, 9+1), (0.1, 9) and (1, 0).
        var e = new FairThresholdEstimator();
        e.Add([0f, 1f, 2f, 3f, 4f]);
        e.Add([5f, 6f, 7f, 8f, 9f]);
        Assert.Equal(9.5, e.Compute(0.05), 12);
        Assert.Equal(9.0 - 9.0 * (0.4 / 0.9), e.Compute(0.5), 12);
        Assert.Equal(0.0, e.Compute(1.0), 12);
        // Groups of sizes 1, 2, 1 (scores 3, 2, 2, 1): no collinear triple, every point kept: (0,4) (.25,3) (.75,2) (1,1).
        var f = new FairThresholdEstimator();
        f.Add([3f, 2f, 2f, 1f]);
        Assert.Equal(2.5, f.Compute(0.5), 12);
        Assert.Equal(3.5, f.Compute(0.125), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Compute(0));
    }

    [Fact]
    public void DetectionRateCountsAnomaliesBeforeKFalsePositives()
    {
        var e = new ImageScoreEvaluator();
        // Descending: 9 A, 8 N, 7 A, 6 A, 5 N, 5 A (tie), 4 A, 3 N
        (double, bool)[] items = [(9, true), (8, false), (7, true), (6, true), (5, false), (5, true), (4, true), (3, false)];
        foreach (var (s, a) in items) e.Add(s, a);
        Assert.Equal(5, e.AnomalousCount);
        Assert.Equal(1 / 5.0, e.DetectionRateAtFalsePositiveCount(0), 15);
        Assert.Equal(3 / 5.0, e.DetectionRateAtFalsePositiveCount(1), 15); // the tie at 5 holds a second false positive
        Assert.Equal(5 / 5.0, e.DetectionRateAtFalsePositiveCount(2), 15);
        Assert.Equal(1.0, e.DetectionRateAtFalsePositiveCount(10), 15);
        var m = e.Compute(1);
        Assert.Equal(3 / 5.0, m.DetectionRateAtFalsePositiveCount, 15);
        Assert.Equal(8, m.ImageCount);
        // AUROC by pairs: A=9 beats 3 N; 7,6 beat 2; 5 ties 5 (½) and beats 3; 4 beats 1 → (3+2+2+1.5+1)/15.
        Assert.Equal(9.5 / 15, m.Auroc, 15);
        Assert.Throws<ArgumentOutOfRangeException>(() => e.DetectionRateAtFalsePositiveCount(-1));
    }
}
