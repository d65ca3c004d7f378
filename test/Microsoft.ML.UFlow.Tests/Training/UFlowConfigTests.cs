using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Flows;
using Microsoft.ML.UFlow.Training;
using TorchSharp;
using HostTensor = Microsoft.ML.UFlow.Tensors.Tensor;
using TorchTensor = TorchSharp.torch.Tensor;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>
/// Channel plans and parameter counts (METHOD.md A.3.1, A.8) of <see cref="UFlowConfig"/>, checked against the built
/// TorchSharp flow, and inverse(forward(x)) of the TorchSharp flow on every preset and scale selection.
/// </summary>
public sealed class UFlowConfigTests
{
    [Fact]
    public void MsCaitPlanMatchesTheA31Table()
    {
        UFlowPlan plan = UFlowConfig.MsCait().Plan();
        Assert.Equal([816, 384], plan.StageChannels);
        Assert.Equal([816, 192], plan.LatentChannels);
        Assert.Equal(192, plan.UpChannels[1]);
        Assert.Equal(816 * 784 + 192 * 196, 677_376);
    }

    [Fact]
    public void ResNetPlansMatchA31()
    {
        var resnet18 = new UFlowConfig([new(64, 112, 112), new(128, 56, 56), new(256, 28, 28)]).Plan();
        Assert.Equal([84, 80, 128], resnet18.LatentChannels);
        var wrn50 = new UFlowConfig([new(256, 64, 64), new(512, 32, 32), new(1024, 16, 16)]).Plan();
        Assert.Equal([336, 320, 512], wrn50.LatentChannels);
        Assert.Equal([336, 640, 1024], wrn50.StageChannels);
    }

    [Fact]
    public void ParameterCountsEqualA8()
    {
        using (var mscait = new UFlowModule(UFlowConfig.MsCait()))
        {
            Assert.Equal(12_216_480, mscait.TrainableParameterCount);
            Assert.Equal(2_217_216, mscait.Stage(1).parameters().Sum(p => p.numel()));
            Assert.Equal(9_999_264, mscait.Stage(0).parameters().Sum(p => p.numel()));
        }
        Assert.Equal(12_216_480, UFlowConfig.MsCait().CountTrainableParameters());
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

    [Fact]
    public void BadScalesGiveClearErrors()
    {
        var notDouble = new UFlowConfig([new(8, 6, 6), new(16, 4, 4)]);
        Assert.Contains("power-of-two multiple", Assert.Throws<ArgumentException>(() => notDouble.Plan()).Message);
        Assert.Contains("power-of-two multiple", Assert.Throws<ArgumentException>(() => new UFlowModule(notDouble)).Message);
        var tooFew = new UFlowConfig([new(8, 8, 8), new(7, 4, 4)]);
        Assert.Contains("n_up", Assert.Throws<ArgumentException>(() => tooFew.Plan()).Message);
    }

    public static TheoryData<string, int[], int> InverseCases => new()
    {
        // Full-size MS-CaiT (the paper's flow, 768@28² + 384@14²) and MobileNetV2; ResNet-50 v2 and the MS-CaiT subsets
        // on reduced spatial sizes with the real channel counts (same channel plan and code paths), to keep the suite
        // fast on 2 cores.
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
        var random = new SeededRandom(6);
        using UFlowModule module = FlowTestModules.PerturbedUFlow(config, random, subnetFactor: 1f);
        HostTensor[] x = TestFeatures.Features(config, 1, random);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        TorchTensor[] features = x.Select(t => HostTensorCopy.ToTorch(t, module.Device)).ToArray();
        (TorchTensor[] latents, TorchTensor logDet) = module.call(features);
        Assert.Equal(config.Scales.Count, latents.Length);
        for (int l = 0; l < config.Scales.Count; l++)
        {
            Assert.Equal([1L, module.Plan.LatentChannels[l], config.Scales[l].Height, config.Scales[l].Width], latents[l].shape);
        }
        Assert.True(float.IsFinite(logDet.item<float>()));
        (TorchTensor[] back, _) = module.inverse(latents);
        for (int l = 0; l < config.Scales.Count; l++)
        {
            TorchTensor expected = module.LayerNorm(l) is { } ln ? ln.call(features[l]) : features[l];
            double err = (back[l] - expected).abs().max().item<float>();
            Assert.True(err < 1e-4, $"scale {l}: max |x − inverse(forward(x))| = {err}");
        }
    }
}
