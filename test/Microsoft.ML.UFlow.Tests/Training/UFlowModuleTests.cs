using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Onnx;
using Microsoft.ML.UFlow.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// The TorchSharp flow's structure: state-dictionary names and shapes (the official code's), the permutation convention
/// out[:, c] = in[:, perm[c]], the upsampling index formula, the reproducible initialisation, invertibility, and the
/// state dictionary refusing what does not fit.
/// </summary>
public sealed class UFlowModuleTests(ITestOutputHelper output)
{
    private static UFlowConfig Small => new([new(5, 8, 8), new(16, 4, 4)]) { Seed = 4 };

    [Theory]
    [InlineData("mobilenetv2")]
    [InlineData("mscait")]
    [InlineData("resnet50v2")]
    public void State_names_and_shapes_follow_the_official_state_dict(string preset)
    {
        UFlowConfig config = UFlowConfig.FromPreset(preset);
        if (preset == "resnet50v2") config = UFlowConfig.ResNet50V2(inputSize: 64); // same channels, smaller maps
        using var module = new UFlowModule(config);
        IReadOnlyDictionary<string, StateTensor> ours = UFlowStateDictionary.Export(module);
        Assert.Equal(config.CountTrainableParameters(), module.TrainableParameterCount);
        Assert.Equal(config.CountTrainableParameters(), ours.Where(e => !e.Key.EndsWith(".perm", StringComparison.Ordinal)).Sum(e => (long)e.Value.Values.Length));
        UFlowPlan plan = config.Plan();
        var expected = new List<string>();
        for (int l = 0; l < config.Scales.Count; l++)
        {
            FlowScale scale = config.Scales[l];
            if (config.FeatureLayerNorm)
            {
                expected.Add($"layernorm{l}.weight");
                expected.Add($"layernorm{l}.bias");
                Assert.Equal([scale.Channels, scale.Height, scale.Width], ours[$"layernorm{l}.weight"].Shape);
            }
            int c = plan.StageChannels[l], c1 = c - c / 2, c2 = c / 2, hidden = (int)(c1 * config.SubnetChannelsRatio);
            for (int s = 0; s < config.FlowSteps; s++)
            {
                string step = $"stage{l}.step{s}";
                int k = UFlowConfig.KernelOfStep(s);
                foreach (string name in (string[])["subnet.0.weight", "subnet.0.bias", "subnet.2.weight", "subnet.2.bias", "global_scale", "global_offset", "perm"]) expected.Add($"{step}.{name}");
                Assert.Equal([hidden, c1, k, k], ours[$"{step}.subnet.0.weight"].Shape);
                Assert.Equal([2 * c2, hidden, k, k], ours[$"{step}.subnet.2.weight"].Shape);
                Assert.Equal([c], ours[$"{step}.global_scale"].Shape);
                Assert.Equal([c], ours[$"{step}.perm"].Shape);
            }
        }
        Assert.Equal(expected, ours.Keys); // the same names in the same order: per scale, finest first
    }

    [Fact]
    public void The_permutation_maps_output_channel_c_to_input_channel_perm_c()
    {
        // One step with a zero subnet and offsets 0: the coupling and the global affine are the identity, so the step is
        // the permutation alone.
        var config = new UFlowConfig([new(6, 3, 3)]) { FlowSteps = 1 };
        using var module = new UFlowModule(config);
        var state = UFlowStateDictionary.Export(module).ToDictionary(e => e.Key, e => e.Value);
        foreach (string key in state.Keys.Where(k => k.Contains(".subnet.", StringComparison.Ordinal)).ToArray())
        {
            state[key] = new StateTensor(state[key].Shape, new float[state[key].Values.Length]);
        }
        float[] perm = [3, 0, 5, 1, 4, 2];
        state["stage0.step0.perm"] = new StateTensor([6], perm);
        UFlowStateDictionary.Load(module, state);

        using var scope = NewDisposeScope();
        float[] input = Enumerable.Range(0, 2 * 6 * 9).Select(i => (float)i).ToArray();
        using var noGrad = no_grad();
        (Tensor[] latents, Tensor logDet) = module.call([HostTensorCopy.ToTorch(input, [2, 6, 3, 3], CPU)]);
        float[] y = HostTensorCopy.ToArray(latents[0]);
        var expected = new float[y.Length];
        for (int n = 0; n < 2; n++)
        for (int c = 0; c < 6; c++)
        for (int p = 0; p < 9; p++)
            expected[(n * 6 + c) * 9 + p] = input[(n * 6 + (int)perm[c]) * 9 + p];
        // The applied scale 0.1·softplus_{0.5}(g₀) is 1 up to float32 rounding.
        TorchAssert.AllClose("permuted", expected, y, 1e-6, 0, output);
        TorchAssert.AllClose("logdet", [0f, 0f], HostTensorCopy.ToArray(logDet), 0, 1e-5, output);
        Assert.Equal(perm, UFlowStateDictionary.Export(module)["stage0.step0.perm"].Values);
    }

    [Fact]
    public void Invertible_upsampling_follows_the_pixel_shuffle_index_formula_and_inverts()
    {
        using var up = new InvertibleUpsamplingModule(1);
        using var scope = NewDisposeScope();
        float[] input = Enumerable.Range(0, 2 * 8 * 3 * 2).Select(i => (float)i).ToArray();
        Tensor x = HostTensorCopy.ToTorch(input, [2, 8, 3, 2], CPU);
        Tensor y = up.call(x);
        Assert.Equal([2L, 2, 6, 4], y.shape);
        float[] o = HostTensorCopy.ToArray(y);
        for (int n = 0; n < 2; n++)
        for (int k = 0; k < 2; k++)
        for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
        for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++)
            Assert.Equal(input[((n * 8 + 4 * k + 2 * dy + dx) * 3 + i) * 2 + j], o[((n * 2 + k) * 6 + 2 * i + dy) * 4 + 2 * j + dx]);
        Assert.Equal(input, HostTensorCopy.ToArray(up.inverse(y)));
    }

    [Fact]
    public void Initialisation_is_reproducible_and_PyTorch_default()
    {
        using var a = new UFlowModule(Small);
        using var b = new UFlowModule(Small);
        using var c = new UFlowModule(new UFlowConfig(Small.Scales) { Seed = 5 });
        var sa = UFlowStateDictionary.Export(a);
        var sb = UFlowStateDictionary.Export(b);
        var sc = UFlowStateDictionary.Export(c);
        foreach (string key in sa.Keys) Assert.Equal(sa[key].Values, sb[key].Values);
        Assert.NotEqual(sa["stage1.step0.subnet.0.weight"].Values, sc["stage1.step0.subnet.0.weight"].Values);
        Assert.NotEqual(sa["stage0.step1.perm"].Values, sc["stage0.step1.perm"].Values);
        foreach ((string key, StateTensor t) in sa)
        {
            if (key.EndsWith(".global_scale", StringComparison.Ordinal)) Assert.All(t.Values, v => Assert.Equal(FlowStepModule.GlobalScaleInit, v));
            else if (key.EndsWith(".global_offset", StringComparison.Ordinal)) Assert.All(t.Values, v => Assert.Equal(0f, v));
            else if (key.EndsWith(".perm", StringComparison.Ordinal)) Assert.Equal(Enumerable.Range(0, t.Values.Length).Select(i => (float)i), t.Values.Order());
            else
            {
                // Conv weights [out, in, k, k] and their biases: uniform in ±1/√(in·k·k), spread over most of the range.
                string weightKey = key.EndsWith(".bias", StringComparison.Ordinal) ? key[..^".bias".Length] + ".weight" : key;
                int[] w = sa[weightKey].Shape;
                double bound = 1 / Math.Sqrt(w[1] * w[2] * w[3]);
                Assert.All(t.Values, v => Assert.InRange(Math.Abs(v), 0, bound));
                if (t.Values.Length >= 50) Assert.True(TorchAssert.MaxAbs(t.Values) > 0.8 * bound, key);
            }
        }
    }

    [Fact]
    public void Inverse_recovers_the_flow_inputs_and_the_log_determinant()
    {
        UFlowConfig config = UFlowConfig.MobileNetV2(inputSize: 64, seed: 2);
        var random = new SeededRandom(9);
        using UFlowModule module = FlowTestModules.PerturbedUFlow(config, random);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor[] x = TestFeatures.Features(config, 2, random).Select(f => HostTensorCopy.ToTorch(f, CPU)).ToArray();
        (Tensor[] latents, Tensor logDet) = module.call(x);
        (Tensor[] inputs, Tensor inverseLogDet) = module.inverse(latents);
        for (int l = 0; l < x.Length; l++)
        {
            float[] expected = HostTensorCopy.ToArray(module.LayerNorm(l)!.call(x[l]));
            TorchAssert.AllClose($"input{l}", expected, HostTensorCopy.ToArray(inputs[l]), 1e-4, 1e-4 * TorchAssert.MaxAbs(expected), output);
        }
        float[] ld = HostTensorCopy.ToArray(logDet);
        TorchAssert.AllClose("logdet", ld, HostTensorCopy.ToArray(inverseLogDet), 1e-5, 1e-5 * TorchAssert.MaxAbs(ld), output);
    }

    [Fact]
    public void Loading_refuses_missing_unexpected_misshapen_and_non_permutation_entries_and_changes_nothing()
    {
        using var module = new UFlowModule(Small);
        IReadOnlyDictionary<string, StateTensor> original = UFlowStateDictionary.Export(module);
        var good = original.ToDictionary(e => e.Key, e => new StateTensor(e.Value.Shape, e.Value.Values.Select(v => v).ToArray()));

        var missing = new Dictionary<string, StateTensor>(good);
        missing.Remove("stage1.step2.global_offset");
        Assert.Contains("lacks 'stage1.step2.global_offset'", Assert.Throws<ArgumentException>(() => UFlowStateDictionary.Load(module, missing)).Message);

        var extra = new Dictionary<string, StateTensor>(good) { ["layernorm0.weight"] = new StateTensor([1], [1f]) };
        Assert.Contains("layernorm0.weight", Assert.Throws<ArgumentException>(() => UFlowStateDictionary.Load(module, extra)).Message);

        var shape = new Dictionary<string, StateTensor>(good);
        StateTensor w = good["stage0.step0.subnet.2.weight"]; // [2·C2, C1, 3, 3] = [6, 4, 3, 3]
        shape["stage0.step0.subnet.2.weight"] = new StateTensor([w.Shape[1], w.Shape[0], w.Shape[2], w.Shape[3]], w.Values);
        Assert.Contains("has shape", Assert.Throws<ArgumentException>(() => UFlowStateDictionary.Load(module, shape)).Message);

        var notPerm = new Dictionary<string, StateTensor>(good);
        float[] p = (float[])good["stage0.step1.perm"].Values.Clone();
        p[0] = p[1];
        notPerm["stage0.step1.perm"] = new StateTensor([p.Length], p);
        // Change a weight too: the refused load must not have copied it.
        notPerm["stage0.step0.global_offset"] = new StateTensor(good["stage0.step0.global_offset"].Shape, Enumerable.Repeat(7f, good["stage0.step0.global_offset"].Values.Length).ToArray());
        Assert.Contains("not a permutation", Assert.Throws<ArgumentException>(() => UFlowStateDictionary.Load(module, notPerm)).Message);

        IReadOnlyDictionary<string, StateTensor> after = UFlowStateDictionary.Export(module);
        foreach (string key in original.Keys) Assert.Equal(original[key].Values, after[key].Values);
    }

    [Fact]
    public void The_global_scale_is_PyTorchs_softplus_on_both_sides_of_the_threshold_with_finite_gradients()
    {
        // β·g from far below to far above the threshold 20; at g = 400, e^{β·g} overflows float32, which must not reach the gradient.
        float[] g = [-30f, -1f, 0f, 1f, FlowStepModule.GlobalScaleInit, 39.9f, 40f, 40.1f, 60f, 400f];
        using var generator = new Generator(1);
        using var step = new FlowStepModule(g.Length, 1, generator);
        using var scope = NewDisposeScope();
        using (no_grad()) step.GlobalScale.copy_(tensor(g));
        Tensor applied = step.AppliedScale();
        static double Softplus(double v) => 0.5 * v > 20 ? v : Math.Log(1 + Math.Exp(0.5 * v)) / 0.5;
        TorchAssert.AllClose("0.1·softplus", g.Select(v => (float)(0.1 * Softplus(v))).ToArray(), applied.data<float>().ToArray(), 1e-6, 0, output);
        applied.sum().backward();
        // d/dg 0.1·softplus_β(g) = 0.1·sigmoid(β·g) up to the threshold, 0.1 above it.
        float[] expectedGradient = g.Select(v => 0.5 * v > 20 ? 0.1f : (float)(0.1 / (1 + Math.Exp(-0.5 * v)))).ToArray();
        TorchAssert.AllClose("its gradient", expectedGradient, step.GlobalScale.grad!.data<float>().ToArray(), 1e-5, 0, output);
    }

    [Fact]
    public void Features_of_the_wrong_shape_are_refused_with_the_expected_shape()
    {
        using var module = new UFlowModule(Small);
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => module.call([zeros(2, 5, 8, 8), zeros(2, 16, 4, 5)]));
        Assert.Contains("features[1] must be [2, 16, 4, 4]", e.Message);
        Assert.Throws<ArgumentException>(() => module.call([zeros(2, 5, 8, 8)]));
    }
}
