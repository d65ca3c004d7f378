using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Metrics;

namespace Microsoft.ML.UFlow.Tests.Metrics;

/// <summary>
/// The streaming evaluators against naive reference computations written straight from the definitions
/// (all pairs for AUROC, every threshold for F1 and PRO), on seeded random maps of mixed sizes with many ties.
/// </summary>
public sealed class MetricsReferenceTests
{
    private static (float[][] Scores, float[][] Masks, (int H, int W)[] Shapes) RandomSet(ulong seed, int images, int levels)
    {
        var rng = new SeededRandom(seed);
        var scores = new float[images][];
        var masks = new float[images][];
        var shapes = new (int, int)[images];
        for (int i = 0; i < images; i++)
        {
            int h = 5 + rng.NextInt(12), w = 5 + rng.NextInt(12);
            shapes[i] = (h, w);
            scores[i] = new float[h * w];
            masks[i] = new float[h * w];
            bool normal = i % 3 == 0;
            for (int p = 0; p < h * w; p++)
            {
                bool defect = !normal && rng.NextDouble() < 0.15;
                masks[i][p] = defect ? (rng.NextDouble() < 0.5 ? 1f : 0.75f) : (rng.NextDouble() < 0.1 ? 0.5f : 0f); // 0.5 is normal (> 0.5 rule)
                double s = rng.NextGaussian() + (defect ? 1.0 : 0.0);
                scores[i][p] = levels > 0 ? MathF.Round((float)s * levels) / levels : (float)s;
            }
        }
        return (scores, masks, shapes);
    }

    private static double NaiveAuroc(IReadOnlyList<double> s, IReadOnlyList<bool> y)
    {
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < s.Count; i++)
        {
            if (!y[i]) continue;
            for (int j = 0; j < s.Count; j++)
            {
                if (y[j]) continue;
                pairs++;
                wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
            }
        }
        return wins / pairs;
    }

    [Theory]
    [InlineData(1UL, 0)]
    [InlineData(2UL, 2)]
    [InlineData(3UL, 1)]
    public void PixelMetricsMatchNaiveDefinitions(ulong seed, int levels)
    {
        var (scores, masks, shapes) = RandomSet(seed, 9, levels);
        var evaluator = new PixelEvaluator();
        for (int i = 0; i < scores.Length; i++)
        {
            if (i == 3) evaluator.AddNormal(scores[i]); // mask of image 3 has no value > 0.5, so both paths agree
            else evaluator.Add(scores[i], masks[i], shapes[i].H, shapes[i].W);
        }
        var m = evaluator.Compute();

        var all = scores.SelectMany(s => s.Select(v => (double)v)).ToList();
        var labels = masks.SelectMany(g => g.Select(v => v > 0.5f)).ToList();
        Assert.Equal(NaiveAuroc(all, labels), m.Auroc, 12);

        // F1 at every distinct threshold (predict score >= t).
        int positives = labels.Count(l => l);
        double bestF1 = 0;
        float bestT = float.NaN;
        foreach (double t in all.Distinct().OrderByDescending(v => v))
        {
            int tp = 0, fp = 0;
            for (int p = 0; p < all.Count; p++)
            {
                if (all[p] < t) continue;
                if (labels[p]) tp++; else fp++;
            }
            double f1 = 2.0 * tp / (tp + fp + positives);
            if (f1 > bestF1) { bestF1 = f1; bestT = (float)t; }
        }
        Assert.Equal(bestF1, m.F1Max, 12);
        Assert.Equal(bestT, m.F1MaxThreshold);

        // PRO curve at every distinct threshold, then the official trapezoid to 0.3.
        var regions = new List<(int Image, int[] Pixels)>();
        long normalPixels = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            var (h, w) = shapes[i];
            var bin = masks[i].Select(v => v > 0.5f).ToArray();
            var lab = new int[h * w];
            int n = ConnectedComponents.Label8(bin, h, w, lab);
            for (int k = 1; k <= n; k++) regions.Add((i, Enumerable.Range(0, h * w).Where(p => lab[p] == k).ToArray()));
            normalPixels += bin.Count(b => !b);
        }
        Assert.Equal(regions.Count, m.RegionCount);
        var xs = new List<double> { 0 };
        var ys = new List<double> { 0 };
        foreach (double t in all.Distinct().OrderByDescending(v => v))
        {
            long fp = 0;
            for (int i = 0; i < scores.Length; i++)
                for (int p = 0; p < scores[i].Length; p++)
                    if (scores[i][p] >= t && !(masks[i][p] > 0.5f)) fp++;
            double pro = regions.Average(r => r.Pixels.Count(p => scores[r.Image][p] >= t) / (double)r.Pixels.Length);
            xs.Add((double)fp / normalPixels);
            ys.Add(pro);
        }
        xs.Add(1);
        ys.Add(1);
        double area = 0;
        for (int k = 1; k < xs.Count; k++)
        {
            if (xs[k] <= 0.3) { area += 0.5 * (ys[k] + ys[k - 1]) * (xs[k] - xs[k - 1]); continue; }
            double yAt = ys[k - 1] + (ys[k] - ys[k - 1]) * (0.3 - xs[k - 1]) / (xs[k] - xs[k - 1]);
            area += 0.5 * (yAt + ys[k - 1]) * (0.3 - xs[k - 1]);
            break;
        }
        Assert.Equal(area / 0.3, m.Aupro, 10);
    }

    [Fact]
    public void AuproFprLimitOneIsTheFullArea()
    {
        // One 1x4 image: scores 4,3,2,1; pixels 0 and 2 anomalous (two regions). Curve: (0,0) (0,.5) (.5,.5) (.5,1) (1,1) (1,1).
        var e = new PixelEvaluator(fprLimit: 1.0);
        e.Add([4f, 3f, 2f, 1f], [1f, 0f, 1f, 0f], 1, 4);
        var m = e.Compute();
        Assert.Equal(2, m.RegionCount);
        Assert.Equal(0.5 * 0.5 + 0.5 * 1.0, m.Aupro, 15);
        Assert.Equal(0.75, m.Auroc, 15); // pairs: (4>3)(4>1)(2<3)(2>1) = 3 of 4
    }

    [Theory]
    [InlineData(11UL, 0)]
    [InlineData(12UL, 3)]
    public void RocAucMatchesAllPairs(ulong seed, int levels)
    {
        var rng = new SeededRandom(seed);
        var s = new double[300];
        var y = new bool[300];
        for (int i = 0; i < s.Length; i++)
        {
            y[i] = rng.NextDouble() < 0.3;
            double v = rng.NextGaussian() + (y[i] ? 0.7 : 0);
            s[i] = levels > 0 ? Math.Round(v * levels) / levels : v;
        }
        Assert.Equal(NaiveAuroc(s, y), RocAuc.Compute(s, y), 13);
    }

    [Fact]
    public void AurocIsUndefinedWithOneClass()
    {
        Assert.True(double.IsNaN(RocAuc.Compute([1.0, 2.0], [true, true])));
        var e = new PixelEvaluator();
        e.AddNormal([1f, 2f, 3f]);
        var m = e.Compute();
        Assert.True(double.IsNaN(m.Auroc));
        Assert.True(double.IsNaN(m.Aupro));
        Assert.True(double.IsNaN(m.F1Max));
        Assert.Equal(0, m.RegionCount);
    }

    [Fact]
    public void AllTiedScoresGiveHalfAuroc()
    {
        var e = new PixelEvaluator();
        e.Add([2f, 2f, 2f, 2f], [1f, 0f, 0f, 0f], 2, 2);
        var m = e.Compute();
        Assert.Equal(0.5, m.Auroc, 15);
        // One group: curve (0,0) -> (1,1) -> (1,1); PRO at FPR 0.3 is 0.3, area 0.045, / 0.3 = 0.15.
        Assert.Equal(0.15, m.Aupro, 15);
        Assert.Equal(2.0 * 1 / (1 + 3 + 1), m.F1Max, 15);
    }

    [Fact]
    public void NegativeZeroAndPositiveZeroAreOneTie()
    {
        var e = new PixelEvaluator();
        e.Add([0f, -0f], [1f, 0f], 1, 2);
        Assert.Equal(0.5, e.Compute().Auroc, 15);
    }

    [Fact]
    public void ScoreKeysOrderLikeFloats()
    {
        var rng = new SeededRandom(5);
        var values = new List<float> { float.NegativeInfinity, float.PositiveInfinity, float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, 0f, -0f, 1f, -1f };
        for (int i = 0; i < 500; i++) values.Add((float)(rng.NextGaussian() * Math.Pow(10, rng.NextInt(20) - 10)));
        foreach (float a in values)
        {
            Assert.Equal(a == 0 ? 0f : a, ScoreKey.FromDescending(ScoreKey.Descending(a)));
            foreach (float b in values.Take(40))
            {
                Assert.Equal(a.CompareTo(b) == 0 || (a == b), ScoreKey.Ascending(a) == ScoreKey.Ascending(b));
                if (a < b) Assert.True(ScoreKey.Ascending(a) < ScoreKey.Ascending(b) && ScoreKey.Descending(a) > ScoreKey.Descending(b));
            }
        }
    }

    [Fact]
    public void RejectsNaNAndShapeMismatchesWithClearMessages()
    {
        var e = new PixelEvaluator();
        var ex = Assert.Throws<ArgumentException>(() => e.Add([1f, float.NaN, 0f, 0f], [0f, 0f, 0f, 0f], 2, 2));
        Assert.Contains("index 1", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => e.Add([1f, 2f, 3f], [0f, 0f, 0f], 2, 2));
        Assert.Contains("2x2", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => e.Add([1f, 2f, 3f, 4f], [0f, 0f, 0f], 2, 2));
        Assert.Equal("groundTruth", ex.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PixelEvaluator(0));
        Assert.Throws<ArgumentException>(() => new ImageScoreEvaluator().Add(double.NaN, true));
        Assert.Throws<ArgumentException>(() => new MeanIouSweep([1.0, 1.0]));
        Assert.Throws<InvalidOperationException>(() => new FairThresholdEstimator().Compute());
    }
}
