using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Training;

namespace Microsoft.ML.UFlow.Tests.Flows;

// The managed engine's trainer, not the ML.NET estimator of the same name in Microsoft.ML.UFlow.
using UFlowTrainer = Microsoft.ML.UFlow.Flows.UFlowTrainer;

/// <summary>The managed flow's parameter counts (METHOD.md A.8), inverse(forward(x)) on every configuration and thread-count independence (the plans: <see cref="Training.UFlowConfigTests"/>).</summary>
public class UShapedFlowConfigTests
{
    [Fact]
    public void ParameterCountsEqualA8()
    {
        var mscait = new UShapedFlow(UFlowConfig.MsCait());
        Assert.Equal(12_216_480, mscait.TrainableParameterCount);
        Assert.Equal(12_216_480, UFlowConfig.MsCait().CountTrainableParameters());
        Assert.Equal(2_217_216, mscait.Stage(1).SelectMany(s => s.Parameters).Sum(p => (long)p.Value.Length));
        Assert.Equal(9_999_264, mscait.Stage(0).SelectMany(s => s.Parameters).Sum(p => (long)p.Value.Length));
        // CaiT-M48 single scale, 4 steps: 8.86 M.
        Assert.Equal(8.86, Math.Round(UFlowConfig.MsCait().SelectScales(0).CountTrainableParameters() / 1e6, 2));
        // ResNet18 / WRN50 at 448 with LayerNorm: 4.29 M and 34.83 M (paper 4.3 M, 34.8 M).
        var resnet18 = new UFlowConfig([new(64, 112, 112), new(128, 56, 56), new(256, 28, 28)]) { FeatureLayerNorm = true };
        Assert.Equal(4.29, Math.Round(resnet18.CountTrainableParameters() / 1e6, 2));
        var wrn50 = new UFlowConfig([new(256, 112, 112), new(512, 56, 56), new(1024, 28, 28)]) { FeatureLayerNorm = true };
        Assert.Equal(34.83, Math.Round(wrn50.CountTrainableParameters() / 1e6, 2));
        Assert.Equal(23.59, Math.Round(new UFlowConfig(wrn50.Scales).CountTrainableParameters() / 1e6, 2));
        Assert.Equal(1.48, Math.Round(new UFlowConfig(resnet18.Scales).CountTrainableParameters() / 1e6, 2));
    }

    [Theory]
    [InlineData("mscait")]
    [InlineData("resnet50v2")]
    [InlineData("mobilenetv2")]
    public void BuiltParameterCountEqualsTheFormula(string preset)
    {
        UFlowConfig config = UFlowConfig.FromPreset(preset);
        Assert.Equal(config.CountTrainableParameters(), new UShapedFlow(config).TrainableParameterCount);
    }

    public static TheoryData<string, int[], int> InverseCases => new()
    {
        // Full-size MS-CaiT (the paper's flow, 768@28² + 384@14²) and MobileNetV2; ResNet-50 v2 (~70 GFLOP for a
        // full-size forward + inverse) and the MS-CaiT subsets on reduced spatial sizes with the real channel counts
        // (same channel plan and code paths), to keep the suite fast on 2 cores.
        { "mscait", [0, 1], 1 },
        { "mobilenetv2", [0, 1, 2], 1 },
        { "mobilenetv2", [1, 2], 1 },
        { "mobilenetv2", [0, 2], 1 },
        { "mscait", [0, 1], 7 },
        { "mscait", [0], 7 },
        { "mscait", [1], 7 },
        { "resnet50v2", [0, 1, 2], 8 },
        { "resnet50v2", [0, 2], 8 },
        { "resnet50v2", [1], 8 },
    };

    [Theory]
    [MemberData(nameof(InverseCases))]
    public void InverseOfForwardReproducesTheInput(string preset, int[] scales, int spatialDivisor)
    {
        UFlowConfig full = UFlowConfig.FromPreset(preset, seed: 2).SelectScales(scales);
        var config = new UFlowConfig(full.Scales.Select(s => new FlowScale(s.Channels, s.Height / spatialDivisor, s.Width / spatialDivisor)))
        {
            FeatureLayerNorm = full.FeatureLayerNorm,
            Seed = full.Seed,
        };
        var flow = new UShapedFlow(config);
        var random = new SeededRandom(6);
        foreach (Parameter p in flow.Parameters.Where(p => p.Name.Contains("global", StringComparison.Ordinal)))
        {
            Span<float> v = p.Value.Span;
            for (int i = 0; i < v.Length; i++) v[i] += (float)(0.3 * random.NextGaussian());
        }
        Tensor[] x = TestFeatures.Features(config, 1, random);
        FlowOutput output = flow.Forward(x);
        Assert.Equal(config.Scales.Count, output.Latents.Count);
        for (int l = 0; l < config.Scales.Count; l++)
        {
            Assert.Equal(flow.Plan.LatentChannels[l], output.Latents[l].C);
            Assert.Equal(config.Scales[l].Height, output.Latents[l].H);
        }
        Assert.True(float.IsFinite(output.LogDet.Span[0]));
        Tensor[] latents = output.Latents.Select(t => t.Clone()).ToArray();
        Tensor[] expected = Enumerable.Range(0, config.Scales.Count).Select(l => flow.LayerNorm(l) is { } ln ? ln.Forward(x[l]).Clone() : x[l]).ToArray();
        IReadOnlyList<Tensor> back = flow.Inverse(latents);
        for (int l = 0; l < config.Scales.Count; l++)
        {
            double err = FlowTestData.MaxAbsDiff(expected[l].Span, back[l].Span);
            Assert.True(err < 1e-4, $"scale {l}: max |x − inverse(forward(x))| = {err}");
        }
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        (float[] Latents, float[] Grads) Run(int threads)
        {
            int saved = Engine.Threads;
            Engine.Threads = threads;
            try
            {
                UFlowConfig config = UFlowConfig.MobileNetV2(inputSize: 64, seed: 3);
                var flow = new UShapedFlow(config);
                Tensor[] x = TestFeatures.Features(config, 3, new SeededRandom(8));
                var trainer = new UFlowTrainer(flow);
                trainer.ComputeGradients(x);
                FlowOutput output = flow.Forward(x);
                return (output.Latents.SelectMany(t => t.Span.ToArray()).Concat(output.LogDet.Span.ToArray()).ToArray(), flow.Parameters.SelectMany(p => p.Grad.Span.ToArray()).ToArray());
            }
            finally
            {
                Engine.Threads = saved;
            }
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Latents, two.Latents);
        Assert.Equal(one.Grads, two.Grads);
    }

    [Fact]
    public void BadScalesGiveClearErrors()
    {
        var notDouble = new UFlowConfig([new(8, 6, 6), new(16, 4, 4)]);
        Assert.Contains("power-of-two multiple", Assert.Throws<ArgumentException>(() => notDouble.Plan()).Message);
        var tooFew = new UFlowConfig([new(8, 8, 8), new(7, 4, 4)]);
        Assert.Contains("n_up", Assert.Throws<ArgumentException>(() => tooFew.Plan()).Message);
        var flow = new UShapedFlow(new UFlowConfig([new(4, 4, 4), new(8, 2, 2)]));
        var e = Assert.Throws<ArgumentException>(() => flow.Forward([new Tensor(1, 4, 4, 4), new Tensor(1, 8, 3, 3)]));
        Assert.Contains("features[1]", e.Message);
    }
}
