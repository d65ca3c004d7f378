using Microsoft.ML.UFlow.Benchmarks.Knn;
using Microsoft.ML.UFlow.Data;
using TorchSharp;

namespace Microsoft.ML.UFlow.Tests.Benchmarks;

/// <summary>
/// The nearest-neighbour scorer of <c>uflow bench knn</c>: its chunked matrix-product search against a brute-force
/// managed search, and a planted outlier position scoring highest on synthetic features.
/// </summary>
public sealed class KnnScorerTests
{
    [Theory]
    [InlineData(64)]   // several chunks, the last one partial
    [InlineData(4096)] // one chunk
    public void Nearest_distances_match_a_brute_force_search(int chunk)
    {
        const int count = 300, queries = 50, channels = 7;
        var random = new SeededRandom(3);
        float[] bank = Enumerable.Range(0, count * channels).Select(_ => (float)random.NextGaussian()).ToArray();
        float[] query = Enumerable.Range(0, queries * channels).Select(_ => (float)random.NextGaussian()).ToArray();
        // Two queries equal to bank vectors (distance 0, where |q|² − 2q·b + |b|² can come out slightly negative).
        Array.Copy(bank, 17 * channels, query, 5 * channels, channels);
        Array.Copy(bank, 299 * channels, query, 49 * channels, channels);

        float[] found;
        using (var memory = new MemoryBank(bank, count, channels, chunk))
        using (var scope = torch.NewDisposeScope())
        {
            found = memory.NearestDistances(torch.tensor(query, [queries, channels]));
        }

        Assert.Equal(queries, found.Length);
        for (int q = 0; q < queries; q++)
        {
            double best = double.PositiveInfinity;
            for (int b = 0; b < count; b++)
            {
                double sum = 0;
                for (int c = 0; c < channels; c++)
                {
                    double d = query[q * channels + c] - bank[b * channels + c];
                    sum += d * d;
                }
                best = Math.Min(best, sum);
            }
            Assert.True(Math.Abs(Math.Sqrt(best) - found[q]) < 2e-3, $"query {q}: brute force {Math.Sqrt(best)}, search {found[q]}");
        }
        Assert.True(found[5] < 2e-3 && found[49] < 2e-3);
    }

    [Theory]
    [InlineData(1, 0.0)]
    [InlineData(3, 1.0)]
    public void A_planted_outlier_position_scores_highest(int pool, double sigma)
    {
        var random = new SeededRandom(11);
        var training = Enumerable.Range(0, 6).Select(_ => Image(random)).ToList();
        using var scorer = KnnScorer.Build(training, new KnnScorerOptions(Pool: pool, BankFraction: 0.5, Sigma: sigma, OutputSize: 32));
        Assert.Equal((32, 32), scorer.Grid);
        Assert.Equal([6 * 32, 6 * 8], scorer.BankSizes); // half of 8×8 and of 4×4 per image

        LatentLayout.Scale[] clean = Image(random), planted = Image(random);
        float[] values = planted[0].Values.ToArray();
        for (int c = 0; c < 8; c++) values[c * 64 + 5 * 8 + 2] += 10; // position (5, 2) of the 8×8 scale
        planted[0] = new LatentLayout.Scale(values, 8, 8, 8);

        float[] map = scorer.Score(planted);
        int peak = Array.IndexOf(map, map.Max());
        int y = peak / 32, x = peak % 32;
        // (5, 2) covers map rows 20–23 and columns 8–11 (4 map pixels per cell); pooling spreads it over its neighbours.
        int slack = pool / 2 * 4;
        Assert.InRange(y, 20 - slack, 23 + slack);
        Assert.InRange(x, 8 - slack, 11 + slack);
        Assert.True(map.Max() > 2 * scorer.Score(clean).Max(), "the planted image must score far above a clean one");
    }

    [Fact]
    public void Smoothing_keeps_a_constant_map_and_spreads_a_peak_symmetrically()
    {
        var flat = Enumerable.Repeat(2.5f, 12 * 9).ToArray();
        GaussianSmoothing.Apply(flat, 12, 9, 2);
        Assert.All(flat, v => Assert.Equal(2.5f, v, 5));

        var peak = new float[21 * 21];
        peak[10 * 21 + 10] = 1;
        GaussianSmoothing.Apply(peak, 21, 21, 1.5);
        Assert.Equal(1, peak.Sum(), 4);
        Assert.Equal(peak[10 * 21 + 8], peak[10 * 21 + 12], 6);
        Assert.Equal(peak[8 * 21 + 10], peak[10 * 21 + 8], 6);
        Assert.Equal(peak.Max(), peak[10 * 21 + 10]);
    }

    [Fact]
    public void Bad_settings_and_no_training_images_are_refused()
    {
        Assert.Throws<ArgumentException>(() => KnnScorer.Build([], new KnnScorerOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KnnScorerOptions(Pool: 2).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new KnnScorerOptions(BankFraction: 0).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new KnnScorerOptions(Sigma: -1).Validate());
    }

    // Two scales of smooth features (a pattern shared by every image) plus a little noise: 8 channels at 8×8, 4 at 4×4.
    private static LatentLayout.Scale[] Image(SeededRandom random)
    {
        static float[] Map(int c, int h, int w, SeededRandom random)
        {
            var v = new float[c * h * w];
            for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < h * w; i++)
                v[ch * h * w + i] = MathF.Sin(0.7f * ch + 0.3f * (i / w) + 0.2f * (i % w)) + 0.05f * (float)random.NextGaussian();
            return v;
        }
        return [new LatentLayout.Scale(Map(8, 8, 8, random), 8, 8, 8), new LatentLayout.Scale(Map(4, 4, 4, random), 4, 4, 4)];
    }
}
