using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows;

/// <summary>
/// The flow against an independent float64 reference (<see cref="FlowReference"/>) on tiny shapes: forward values,
/// log-det against the brute-force Jacobian determinant, and every parameter's gradient against finite differences.
/// </summary>
public class UShapedFlowExactnessTests
{
    // Two scales with an odd channel count (C1 = ⌈C/2⌉ matters), and three scales with LayerNorm.
    internal static UFlowConfig TwoScales(bool layerNorm = false) => new([new(3, 4, 4), new(8, 2, 2)]) { FeatureLayerNorm = layerNorm, Seed = 11 };

    internal static UFlowConfig ThreeScales(bool layerNorm = true) => new([new(2, 8, 8), new(6, 4, 4), new(16, 2, 2)]) { FeatureLayerNorm = layerNorm, Seed = 5 };

    public static TheoryData<int, bool> Configs => new() { { 2, false }, { 2, true }, { 3, false }, { 3, true } };

    private static UFlowConfig Make(int scales, bool layerNorm) => scales == 2 ? TwoScales(layerNorm) : ThreeScales(layerNorm);

    [Theory]
    [MemberData(nameof(Configs))]
    public void ForwardMatchesFloat64Reference(int scales, bool layerNorm)
    {
        var flow = new UShapedFlow(Make(scales, layerNorm));
        var random = new SeededRandom(3);
        FlowTestData.Perturb(flow, random);
        Tensor[] x = TestFeatures.Features(flow.Config, 2, random);
        FlowOutput output = flow.Forward(x);
        var reference = new FlowReference(flow);
        for (int b = 0; b < 2; b++)
        {
            var (latents, logDet) = reference.Forward(x.Select(t => ToDouble(t.Sample(b))).ToArray());
            for (int l = 0; l < latents.Length; l++)
            {
                ReadOnlySpan<float> z = output.Latents[l].Sample(b);
                Assert.Equal(latents[l].Length, z.Length);
                for (int i = 0; i < z.Length; i++) Assert.True(Math.Abs(z[i] - latents[l][i]) <= 1e-4 * (1 + Math.Abs(latents[l][i])), $"z{l}[{b},{i}] = {z[i]} vs {latents[l][i]}");
            }
            Assert.True(Math.Abs(output.LogDet.Span[b] - logDet) <= 1e-4 * (1 + Math.Abs(logDet)), $"logdet {output.LogDet.Span[b]} vs {logDet}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void LogDetEqualsLogAbsDeterminantOfBruteForceJacobian(int scales)
    {
        var flow = new UShapedFlow(Make(scales, layerNorm: false));
        var random = new SeededRandom(4);
        FlowTestData.Perturb(flow, random);
        Tensor[] x = TestFeatures.Features(flow.Config, 1, random);
        double[][] x0 = x.Select(t => ToDouble(t.Span)).ToArray();
        var reference = new FlowReference(flow);
        int dims = x0.Sum(a => a.Length);
        var jacobian = new double[dims, dims];
        const double h = 1e-6;
        int column = 0;
        for (int l = 0; l < x0.Length; l++)
        {
            for (int i = 0; i < x0[l].Length; i++, column++)
            {
                double keep = x0[l][i];
                x0[l][i] = keep + h;
                double[] plus = Flatten(reference.Forward(x0).Latents);
                x0[l][i] = keep - h;
                double[] minus = Flatten(reference.Forward(x0).Latents);
                x0[l][i] = keep;
                Assert.Equal(dims, plus.Length);
                for (int r = 0; r < dims; r++) jacobian[r, column] = (plus[r] - minus[r]) / (2 * h);
            }
        }
        double bruteForce = LogAbsDeterminant(jacobian);
        float ours = flow.Forward(x).LogDet.Span[0];
        Assert.True(Math.Abs(ours - bruteForce) <= 1e-4 * (1 + Math.Abs(bruteForce)), $"flow log-det {ours} vs log|det J| {bruteForce}");
        Assert.True(Math.Abs(bruteForce) > 1, "the test flow should be far from volume-preserving");
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void GradientsMatchFiniteDifferencesOfFloat64Loss(int scales, bool layerNorm)
    {
        var flow = new UShapedFlow(Make(scales, layerNorm));
        var random = new SeededRandom(9);
        FlowTestData.Perturb(flow, random);
        const int batch = 2;
        Tensor[] x = TestFeatures.Features(flow.Config, batch, random);
        foreach (Parameter p in flow.Parameters) p.ZeroGrad();
        FlowOutput output = flow.Forward(x);
        var gradLatents = output.Latents.Select(_ => new Tensor(1)).ToArray();
        var gradLogDet = new float[batch];
        UFlowLoss.Compute(output, gradLatents, gradLogDet);
        flow.Backward(gradLatents, gradLogDet);

        var reference = new FlowReference(flow);
        double[][][] xs = Enumerable.Range(0, batch).Select(b => x.Select(t => ToDouble(t.Sample(b))).ToArray()).ToArray();
        double Loss()
        {
            double total = 0;
            foreach (double[][] sample in xs)
            {
                var (latents, logDet) = reference.Forward(sample);
                total += 0.5 * latents.Sum(z => z.Sum(v => v * v)) - logDet;
            }
            return total / batch;
        }
        int checkedCount = 0;
        foreach (Parameter p in flow.Parameters)
        {
            double[] values = reference.Param(p.Name);
            int[] indices = [0, values.Length / 3, values.Length / 2, values.Length - 1];
            foreach (int i in indices.Distinct())
            {
                double keep = values[i];
                const double h = 1e-6;
                values[i] = keep + h;
                double plus = Loss();
                values[i] = keep - h;
                double minus = Loss();
                values[i] = keep;
                double numeric = (plus - minus) / (2 * h);
                double analytic = p.Grad.Span[i];
                Assert.True(Math.Abs(analytic - numeric) <= 1e-3 * Math.Max(1, Math.Abs(numeric)), $"{p.Name}[{i}]: backward {analytic} vs finite difference {numeric}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 20);
    }

    [Fact]
    public void UpsamplingIsPixelShuffleAndInverseUndoesIt()
    {
        var random = new SeededRandom(1);
        Tensor x = TestFeatures.Gaussian(random, 1, 2, 12, 3, 5);
        var up = new Tensor(2, 4, 6, 10);
        InvertibleUpsampling.Forward(x, 4, 8, up, 1);
        for (int b = 0; b < 2; b++)
        {
            double[] expected = FlowReference.PixelShuffle(ToDouble(x.Sample(b).Slice(4 * 15, 8 * 15)), 8, 3, 5);
            double[] actual = ToDouble(up.Sample(b).Slice(60, 2 * 60));
            Assert.Equal(expected, actual);
        }
        var back = new Tensor(2, 12, 3, 5);
        InvertibleUpsampling.Inverse(up, 1, 2, back, 4);
        for (int b = 0; b < 2; b++) Assert.True(x.Sample(b).Slice(60, 120).SequenceEqual(back.Sample(b).Slice(60, 120)));
    }

    [Fact]
    public void UpsamplingRefusesSourceChannelsOutsideTheSource()
    {
        var x = new Tensor(2, 12, 3, 5);
        var up = new Tensor(2, 4, 6, 10);
        Assert.Throws<ArgumentException>(() => InvertibleUpsampling.Forward(x, 8, 8, up, 0));  // [8, 16) of 12 channels
        Assert.Throws<ArgumentException>(() => InvertibleUpsampling.Forward(x, -4, 8, up, 0));
        Assert.Throws<ArgumentException>(() => InvertibleUpsampling.Forward(x, 0, 8, up, -1));
        var back = new Tensor(2, 12, 3, 5);
        Assert.Throws<ArgumentException>(() => InvertibleUpsampling.Inverse(up, 3, 2, back, 0)); // [3, 5) of 4 channels
        Assert.Throws<ArgumentException>(() => InvertibleUpsampling.Inverse(up, -1, 2, back, 0));
        Assert.Throws<ArgumentException>(() => InvertibleUpsampling.Inverse(up, 0, 2, back, -4));
    }

    [Fact]
    public void BackwardAfterAnInverseIsRefusedUntilTheNextForward()
    {
        var random = new SeededRandom(2);
        var step = new FlowStep(6, 3, random, name: "s");
        Tensor x = TestFeatures.Gaussian(random, 1, 2, 6, 4, 4);
        var logDet = new float[2];
        Tensor y = step.Forward(x, logDet).Clone();
        step.Inverse(y);
        var e = Assert.Throws<InvalidOperationException>(() => step.Backward(y, new float[2]));
        Assert.Contains("Inverse", e.Message);
        Assert.Contains("'s'", e.Message);
        step.Forward(x, logDet);
        Assert.NotNull(step.Backward(y, new float[2]));
    }

    internal static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = values[i];
        return result;
    }

    private static double[] Flatten(double[][] parts) => parts.SelectMany(p => p).ToArray();

    private static double LogAbsDeterminant(double[,] matrix)
    {
        int n = matrix.GetLength(0);
        var a = (double[,])matrix.Clone();
        double logDet = 0;
        for (int k = 0; k < n; k++)
        {
            int pivot = k;
            for (int r = k + 1; r < n; r++) if (Math.Abs(a[r, k]) > Math.Abs(a[pivot, k])) pivot = r;
            if (pivot != k) for (int c = 0; c < n; c++) (a[k, c], a[pivot, c]) = (a[pivot, c], a[k, c]);
            double d = a[k, k];
            Assert.True(d != 0, "singular Jacobian");
            logDet += Math.Log(Math.Abs(d));
            for (int r = k + 1; r < n; r++)
            {
                double f = a[r, k] / d;
                if (f == 0) continue;
                for (int c = k; c < n; c++) a[r, c] -= f * a[k, c];
            }
        }
        return logDet;
    }
}
