using Microsoft.ML.UFlow.Flows.CsFlow;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows.CsFlow;

public class CsFlowNetworkTests
{
    private static CsFlowNetworkOptions Tiny(int channels = 6) => new() { Channels = channels, HiddenChannels = 6, KernelSizes = [3, 5], Seed = 7 };

    [Fact]
    public void ParameterCountOfThePaperConfigurationIs275Point2Million()
    {
        // METHOD.md C.2: C = 304, hidden 1024, kernels [3, 3, 3, 5]. Per subnet 3 in-convs (152→1024) and 7 convs
        // 1024→304 (3 per-scale, 2 up, 2 down), all with bias, plus 3 γ; two subnets per block. Computed, not allocated.
        long count = CsFlowNetwork.CountParameters(new CsFlowNetworkOptions { Channels = 304 });
        long k3 = 2 * (3 * (152L * 1024 * 9 + 1024) + 7 * (1024L * 304 * 9 + 304) + 3);
        long k5 = 2 * (3 * (152L * 1024 * 25 + 1024) + 7 * (1024L * 304 * 25 + 304) + 3);
        Assert.Equal(3 * k3 + k5, count);
        Assert.Equal(275.2, Math.Round(count / 1e6, 1));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(7)]
    public void ParameterCountFormulaMatchesTheBuiltNetwork(int channels)
    {
        var network = new CsFlowNetwork(Tiny(channels));
        Assert.Equal(CsFlowNetwork.CountParameters(Tiny(channels)), network.ParameterCount);
        Assert.Equal(network.Parameters.Count, network.Parameters.Select(p => p.Name).Distinct().Count());
    }

    [Fact]
    public void InverseOfForwardRecoversTheFeatures()
    {
        var network = new CsFlowNetwork(Tiny());
        CsFlowTestData.SetGammas(network, 3);
        Tensor[] x = TestFeatures.CsFlowScales(2, 6, 8, 8, 4);
        Tensor[] z = CsFlowTestData.Copy(network.Forward(x).Latents);
        Assert.True(CsFlowTestData.MaxAbsDiff(x, z) > 0.05);
        double error = CsFlowTestData.MaxAbsDiff(network.Inverse(z), x);
        Assert.True(error < 1e-5, $"inverse(forward(x)) differs from x by {error}.");
    }

    [Fact]
    public void FreshNetworkOnlyPermutesAndHasZeroLogDet()
    {
        var network = new CsFlowNetwork(Tiny());
        Tensor[] x = TestFeatures.CsFlowScales(1, 6, 4, 4, 5);
        (IReadOnlyList<Tensor> z, double[] logDet) = network.Forward(x);
        Assert.Equal(0.0, logDet[0]);
        for (int s = 0; s < 3; s++)
        {
            float[] sortedIn = x[s].Span.ToArray(), sortedOut = z[s].Span.ToArray();
            Array.Sort(sortedIn);
            Array.Sort(sortedOut);
            Assert.Equal(sortedIn, sortedOut);
        }
        Assert.True(CsFlowTestData.MaxAbsDiff(x, z) > 0, "Permutations should move channels.");
    }

    [Fact]
    public void LossGradientsMatchFiniteDifferences()
    {
        var network = new CsFlowNetwork(Tiny(4));
        CsFlowTestData.SetGammas(network, 8);
        Tensor[] x = TestFeatures.CsFlowScales(2, 4, 4, 4, 9);
        Tensor[] gradZ = [new(1), new(1), new(1)];
        var gradLogDet = new double[2];
        double Loss()
        {
            (IReadOnlyList<Tensor> z, double[] ld) = network.Forward(x);
            return CsFlowLoss.Compute(z, ld);
        }

        foreach (Parameter p in network.Parameters) p.ZeroGrad();
        (IReadOnlyList<Tensor> z0, double[] ld0) = network.Forward(x);
        CsFlowLoss.Compute(z0, ld0, gradZ, gradLogDet);
        Tensor[] gradX = CsFlowTestData.Copy(network.Backward(gradZ, gradLogDet));

        var failures = new List<string>();
        int checkedCount = 0;
        void Check(string what, Span<float> values, int index, double analytic)
        {
            // The loss is per dimension (small); a larger step keeps float32 rounding below the tolerance.
            const float eps = 1e-2f;
            float saved = values[index];
            values[index] = saved + eps;
            double plus = Loss();
            values[index] = saved - eps;
            double minus = Loss();
            values[index] = saved;
            double numeric = (plus - minus) / (2 * eps);
            checkedCount++;
            if (Math.Abs(numeric - analytic) > 3e-2 * Math.Abs(numeric) + 2e-6) failures.Add($"{what}: analytic {analytic}, numeric {numeric}");
        }
        for (int s = 0; s < 3; s++)
        {
            foreach (int i in new[] { 1, x[s].Length - 2 }) Check($"x[{s}][{i}]", x[s].Span, i, gradX[s].Span[i]);
        }
        foreach (Parameter p in network.Parameters.Where((_, i) => i % 3 == 0))
        {
            Check($"{p.Name}[0]", p.Value.Span, 0, p.Grad.Span[0]);
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(checkedCount > 20);
    }

    [Fact]
    public void LossIsPerDimensionAsInMethod()
    {
        // loss = mean_b[0.5 Σ z² − logDet_b] / D on hand-made values.
        Tensor[] z = [new Tensor(2, 1, 2, 2), new Tensor(2, 1, 1, 1), new Tensor(2, 1, 1, 1)];
        z[0].Span.Fill(1f);   // 8 values: Σ z² = 8
        z[1].Span.Fill(2f);   // 2 values: Σ z² = 8
        z[2].Span.Fill(-1f);  // 2 values: Σ z² = 2
        double[] logDet = [3.0, 1.0];
        const int d = 6;
        double expected = ((0.5 * 9 - 3.0) + (0.5 * 9 - 1.0)) / 2 / d;
        Tensor[] gz = [new(1), new(1), new(1)];
        var gld = new double[2];
        Assert.Equal(expected, CsFlowLoss.Compute(z, logDet, gz, gld), 12);
        Assert.Equal(2f / (2 * d), gz[1].Span[0], 6);
        Assert.Equal(-1.0 / (2 * d), gld[0], 12);
    }

    [Fact]
    public void ImageScoreAndLocalisationMapFollowMethod()
    {
        Tensor[] z = [new Tensor(1, 2, 2, 2), new Tensor(1, 2, 1, 1), new Tensor(1, 2, 1, 1)];
        float[] fine = [1, 2, 3, 4, 0, 0, 1, 2];
        fine.CopyTo(z[0].Span);
        z[1].Span.Fill(3f);
        double expected = 0.5 * (1 + 4 + 9 + 16 + 0 + 0 + 1 + 4 + 9 + 9) / 12;
        Assert.Equal(expected, CsFlowScoring.ImageScores(z)[0], 12);

        Tensor map = CsFlowScoring.LocalizationMap(z[0], 2, 2);
        Assert.Equal([0.5f, 2f, 5f, 10f], map.Span.ToArray());
        Tensor up = CsFlowScoring.LocalizationMap(z[0], 4, 4);
        // align_corners = False: the corner pixels copy the corner values; (0,1) = 0.75·0.5 + 0.25·2.
        Assert.Equal(0.5f, up[0, 0, 0, 0]);
        Assert.Equal(0.875f, up[0, 0, 0, 1], 6);
        Assert.Equal(10f, up[0, 0, 3, 3]);
    }
}
