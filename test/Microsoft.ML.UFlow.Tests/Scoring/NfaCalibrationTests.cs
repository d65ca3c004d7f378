using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Scoring;

/// <summary>
/// The held-out calibration against METHOD.md A.7.8: normal latents over-dispersed by σ = 1.1 make the uncalibrated NFA
/// fire on a normal image; divided by the held-out mean z², the same image is not detected. The factors equal an explicit
/// division of the NFA statistic.
/// </summary>
public sealed class NfaCalibrationTests
{
    // A.7.8's simulation: C = 816 at 28×28, z ~ N(0, σ²) on normal images.
    private static Tensor[] Normal(SeededRandom random, int images, double sigma) => [Gaussian(random, sigma, images, 816, 28, 28)];

    private static Tensor Gaussian(SeededRandom random, double sigma, params int[] shape)
    {
        var t = new Tensor(shape);
        Span<float> s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(sigma * random.NextGaussian());
        return t;
    }

    [Fact]
    public void Over_dispersed_normal_latents_fire_uncalibrated_and_not_calibrated()
    {
        var random = new SeededRandom(11);
        Tensor[] heldOut = Normal(random, 3, 1.1);
        Tensor[] image = Normal(random, 1, 1.1);
        double[] s = LatentStatistics.MeanSquarePerScale(heldOut);
        Assert.All(s, v => Assert.InRange(v, 1.19, 1.23)); // σ² = 1.21

        var segmenter = new NfaSegmenter(new NfaSegmentationOptions { OutputSize = 64 });
        NfaImageResult uncalibrated = segmenter.Segment(image, 0).Summary;
        Assert.True(uncalibrated.IsAnomalous, $"max −log10 NFA {uncalibrated.MaxNegativeLog10Nfa}");

        LatentCalibrationFactors.Apply(image, LatentCalibrationFactors.FromMeanSquare(s));
        NfaImageResult calibrated = segmenter.Segment(image, 0).Summary;
        Assert.False(calibrated.IsAnomalous, $"max −log10 NFA {calibrated.MaxNegativeLog10Nfa}");
    }

    [Fact]
    public void The_factors_divide_the_statistic_by_the_held_out_mean_square()
    {
        float[] factors = LatentCalibrationFactors.FromMeanSquare([1.21]);
        Assert.Equal([1 / 1.1f], factors[..1], (a, b) => Math.Abs(a - b) < 1e-6f);
        var random = new SeededRandom(3);
        Tensor[] z = Normal(random, 1, 1.0);
        var before = new float[28 * 28];
        LatentStatistics.SumOfSquares(z[0].Sample(0), 816, 28, 28, before);
        LatentCalibrationFactors.Apply(z, factors);
        var after = new float[28 * 28];
        LatentStatistics.SumOfSquares(z[0].Sample(0), 816, 28, 28, after);
        for (int p = 0; p < before.Length; p++) Assert.Equal(before[p] / 1.21, after[p], 1e-3 * before[p]);
        Assert.Throws<ArgumentException>(() => LatentCalibrationFactors.FromMeanSquare([1.0, double.NaN]));
        Assert.Throws<ArgumentException>(() => LatentCalibrationFactors.FromMeanSquare([0.0]));
    }
}
