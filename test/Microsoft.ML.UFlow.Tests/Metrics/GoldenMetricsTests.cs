using Microsoft.ML.UFlow.Metrics;

namespace Microsoft.ML.UFlow.Tests.Metrics;

/// <summary>
/// Every metric against the values of sklearn / the transcribed MVTec official AUPRO / U-Flow's mIoU and fair
/// threshold (test/golden/metrics_golden.py), on seeded random maps with and without ties. Tolerance 1e-6 (the
/// C# code accumulates in double; the references in float64).
/// </summary>
public sealed class GoldenMetricsTests
{
    private const double Tolerance = 1e-6;

    [Theory]
    [MemberData(nameof(MetricsFixture.Cases), MemberType = typeof(MetricsFixture))]
    public void PixelMetricsMatchGolden(string name)
    {
        var f = MetricsFixture.Load(name);
        var evaluator = new PixelEvaluator();
        for (int i = 0; i < f.Scores.Length; i++) evaluator.Add(f.Scores[i], f.Masks[i], f.Height, f.Width);
        var m = evaluator.Compute();
        Assert.Equal((int)f.Expect("regionCount"), m.RegionCount);
        Assert.Equal(f.Expect("pixelAuroc"), m.Auroc, Tolerance);
        Assert.Equal(f.Expect("aupro"), m.Aupro, Tolerance);
        Assert.Equal(f.Expect("f1Max"), m.F1Max, Tolerance);
        Assert.Equal(f.Scores.Length, m.ImageCount);
        Assert.Equal((long)f.Scores.Length * f.Height * f.Width, m.PixelCount);
    }

    [Theory]
    [MemberData(nameof(MetricsFixture.Cases), MemberType = typeof(MetricsFixture))]
    public void ImageAurocMatchesGolden(string name)
    {
        var f = MetricsFixture.Load(name);
        var evaluator = new ImageScoreEvaluator();
        for (int i = 0; i < f.Scores.Length; i++) evaluator.Add(f.Scores[i].Max(), f.Masks[i].Any(v => v > 0.5f));
        Assert.Equal(f.Expect("imageAuroc"), evaluator.ComputeAuroc(), Tolerance);
    }

    [Theory]
    [MemberData(nameof(MetricsFixture.Cases), MemberType = typeof(MetricsFixture))]
    public void MeanIouSweepMatchesGolden(string name)
    {
        var f = MetricsFixture.Load(name);
        double[] thresholds = f.ExpectArray("miouThresholds");
        double[] expected = f.ExpectArray("mious");
        var sweep = new MeanIouSweep(thresholds);
        for (int i = 0; i < f.Scores.Length; i++) sweep.Add(f.Scores[i], f.Masks[i]);
        double[] actual = sweep.MeanIous();
        for (int j = 0; j < thresholds.Length; j++) Assert.Equal(expected[j], actual[j], Tolerance);
        var best = sweep.Best();
        Assert.Equal(expected.Max(), best.MeanIou, Tolerance);
        Assert.Equal(thresholds[Array.IndexOf(expected, expected.Max())], best.Threshold);
    }

    [Theory]
    [MemberData(nameof(MetricsFixture.Cases), MemberType = typeof(MetricsFixture))]
    public void MeanIouAccumulatorMatchesGolden(string name)
    {
        var f = MetricsFixture.Load(name);
        double[] thresholds = f.ExpectArray("miouThresholds");
        double[] expected = f.ExpectArray("mious");
        foreach (int j in new[] { 0, thresholds.Length / 3, thresholds.Length / 2, thresholds.Length - 1 })
        {
            var fromScores = new MeanIouAccumulator();
            var fromMasks = new MeanIouAccumulator();
            for (int i = 0; i < f.Scores.Length; i++)
            {
                fromScores.Add(f.Scores[i], thresholds[j], f.Masks[i]);
                bool[] predicted = f.Scores[i].Select(s => s > thresholds[j]).ToArray();
                fromMasks.Add(predicted, f.Masks[i]);
            }
            Assert.Equal(expected[j], fromScores.Mean, Tolerance);
            Assert.Equal(expected[j], fromMasks.Mean, Tolerance);
        }
    }

    [Theory]
    [MemberData(nameof(MetricsFixture.Cases), MemberType = typeof(MetricsFixture))]
    public void FairThresholdMatchesGolden(string name)
    {
        var f = MetricsFixture.Load(name);
        var estimator = new FairThresholdEstimator();
        foreach (var t in f.Train) estimator.Add(t);
        double[] targets = f.ExpectArray("fairTargets");
        double[] expected = f.ExpectArray("fairThresholds");
        for (int j = 0; j < targets.Length; j++)
        {
            double actual = estimator.Compute(targets[j]);
            Assert.True(Math.Abs(expected[j] - actual) <= Tolerance * Math.Max(1, Math.Abs(expected[j])),
                $"target FPR {targets[j]}: expected {expected[j]}, got {actual}");
        }
    }
}
