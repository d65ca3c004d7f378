using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// The TorchSharp flow against an independent float64 reference written from METHOD.md (<see cref="UFlowReference"/>)
/// on tiny shapes with perturbed weights: forward values, the log-det against the brute-force Jacobian determinant of the
/// reference, and every parameter's autograd gradient against finite differences of the float64 loss.
/// </summary>
public sealed class UFlowModuleExactnessTests
{
    // Two scales with an odd channel count (C1 = ⌈C/2⌉ matters), and three scales with LayerNorm.
    private static UFlowConfig TwoScales(bool layerNorm) => new([new(3, 4, 4), new(8, 2, 2)]) { FeatureLayerNorm = layerNorm, Seed = 11 };

    private static UFlowConfig ThreeScales(bool layerNorm) => new([new(2, 8, 8), new(6, 4, 4), new(16, 2, 2)]) { FeatureLayerNorm = layerNorm, Seed = 5 };

    // Scales = 0: two rectangular scales (4x6 and 2x3, H×W), the shapes of a W = 1.5·H input.
    private static UFlowConfig Rectangular(bool layerNorm) => new([new(3, 4, 6), new(8, 2, 3)]) { FeatureLayerNorm = layerNorm, Seed = 13 };

    public static TheoryData<int, bool> Configs => new() { { 2, false }, { 2, true }, { 3, false }, { 3, true }, { 0, false }, { 0, true } };

    private static UFlowConfig Make(int scales, bool layerNorm) => scales switch { 2 => TwoScales(layerNorm), 3 => ThreeScales(layerNorm), _ => Rectangular(layerNorm) };

    [Fact]
    public void Rectangular_maps_keep_their_height_and_width_through_the_U_shaped_graph()
    {
        // 4x6 and 2x3 (H×W): the coarse stage's upsampled half is 2H×2W = 4x6, concatenated with the fine features.
        var random = new SeededRandom(8);
        using UFlowModule module = FlowTestModules.PerturbedUFlow(Rectangular(layerNorm: true), random);
        HostTensor[] x = TestFeatures.Features(module.Config, 2, random);
        (HostTensor[] latents, float[] logDet) = FlowTestModules.Forward(module, x);
        UFlowPlan plan = module.Config.Plan();
        Assert.Equal([2, plan.LatentChannels[0], 4, 6], latents[0].Shape.ToArray());
        Assert.Equal([2, plan.LatentChannels[1], 2, 3], latents[1].Shape.ToArray());
        Assert.Equal(4, plan.LatentChannels[0]); // 3 features + n_up/4 = ((8 // 8)·4)/4 = 1 upsampled channel
        Assert.All(logDet, v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Forward_matches_the_float64_reference(int scales, bool layerNorm)
    {
        var random = new SeededRandom(3);
        using UFlowModule module = FlowTestModules.PerturbedUFlow(Make(scales, layerNorm), random);
        HostTensor[] x = TestFeatures.Features(module.Config, 2, random);
        (HostTensor[] latents, float[] logDet) = FlowTestModules.Forward(module, x);
        var reference = new UFlowReference(module.Config, UFlowStateDictionary.Export(module));
        for (int b = 0; b < 2; b++)
        {
            (double[][] expected, double expectedLogDet) = reference.Forward(x.Select(t => ToDouble(t.Sample(b))).ToArray());
            for (int l = 0; l < expected.Length; l++)
            {
                ReadOnlySpan<float> z = latents[l].Sample(b);
                Assert.Equal(expected[l].Length, z.Length);
                for (int i = 0; i < z.Length; i++) Assert.True(Math.Abs(z[i] - expected[l][i]) <= 1e-4 * (1 + Math.Abs(expected[l][i])), $"z{l}[{b},{i}] = {z[i]} vs {expected[l][i]}");
            }
            Assert.True(Math.Abs(logDet[b] - expectedLogDet) <= 1e-4 * (1 + Math.Abs(expectedLogDet)), $"logdet {logDet[b]} vs {expectedLogDet}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(0)]
    public void Log_det_equals_the_log_abs_determinant_of_the_brute_force_Jacobian(int scales)
    {
        var random = new SeededRandom(4);
        using UFlowModule module = FlowTestModules.PerturbedUFlow(Make(scales, layerNorm: false), random);
        HostTensor[] x = TestFeatures.Features(module.Config, 1, random);
        double[][] x0 = x.Select(t => ToDouble(t.Span)).ToArray();
        var reference = new UFlowReference(module.Config, UFlowStateDictionary.Export(module));
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
                double[] plus = reference.Forward(x0).Latents.SelectMany(z => z).ToArray();
                x0[l][i] = keep - h;
                double[] minus = reference.Forward(x0).Latents.SelectMany(z => z).ToArray();
                x0[l][i] = keep;
                Assert.Equal(dims, plus.Length);
                for (int r = 0; r < dims; r++) jacobian[r, column] = (plus[r] - minus[r]) / (2 * h);
            }
        }
        double bruteForce = LinearAlgebra.LogAbsDeterminant(jacobian);
        float ours = FlowTestModules.Forward(module, x).LogDet[0];
        Assert.True(Math.Abs(ours - bruteForce) <= 1e-4 * (1 + Math.Abs(bruteForce)), $"flow log-det {ours} vs log|det J| {bruteForce}");
        Assert.True(Math.Abs(bruteForce) > 1, "the test flow should be far from volume-preserving");
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Autograd_gradients_match_finite_differences_of_the_float64_loss(int scales, bool layerNorm)
    {
        var random = new SeededRandom(9);
        using UFlowModule module = FlowTestModules.PerturbedUFlow(Make(scales, layerNorm), random);
        const int batch = 2;
        HostTensor[] x = TestFeatures.Features(module.Config, batch, random);
        Dictionary<string, float[]> gradients;
        using (var scope = torch.NewDisposeScope())
        {
            module.zero_grad();
            (TorchTensor[] latents, TorchTensor logDet) = module.call(x.Select(t => HostTensorCopy.ToTorch(t, module.Device)).ToArray());
            UFlowTorchLoss.Compute(latents, logDet).backward();
            gradients = module.named_parameters().ToDictionary(p => p.name, p => HostTensorCopy.ToArray(p.parameter.grad!));
        }

        var reference = new UFlowReference(module.Config, UFlowStateDictionary.Export(module));
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
        Assert.Equal(reference.ParameterNames.Order(StringComparer.Ordinal), gradients.Keys.Order(StringComparer.Ordinal));
        int checkedCount = 0;
        foreach ((string name, float[] grad) in gradients)
        {
            double[] values = reference.Param(name);
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
                Assert.True(Math.Abs(grad[i] - numeric) <= 1e-3 * Math.Max(1, Math.Abs(numeric)), $"{name}[{i}]: autograd {grad[i]} vs finite difference {numeric}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 20);
    }

    private static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = values[i];
        return result;
    }
}
