using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Benchmarks;

/// <summary>
/// Runs both shared backbones once (batch 1, every output) on the test-vector input and checks every output against the
/// statistics ONNX Runtime 1.30 produced when the vectors were made (relative error ≤ 1e-4; the package's 1.32 meets the
/// same tolerance).
/// </summary>
public sealed class OnnxFeaturizerTestVectorTests
{
    private const string ResNet = "resnet50v2_imagenet_layer1-3";
    private const string MobileNet = "mobilenetv2_1.0_imagenet_features";

    [SharedDataTheory]
    [InlineData(ResNet)]
    [InlineData(MobileNet)]
    public void EveryOutputReproducesTheTestVector(string stem)
    {
        List<TestVectors.Expected> expected = TestVectors.Outputs(stem);
        using var featurizer = new OnnxFeaturizer(TestVectors.Model(stem), expected.Select(e => e.Name),
            new OnnxRuntimeOptions { IntraOpNumThreads = 2 });
        IReadOnlyList<Tensor> maps = featurizer.Extract(TestVectors.Input(stem));
        Assert.Equal(expected.Count, maps.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            TestVectors.AssertMatches(expected[i], maps[i]);
        }
    }

    [SharedDataFact]
    public void ResNetReportsWideResNetChannelCountsAtStrides4To16()
    {
        using var featurizer = new OnnxFeaturizer(TestVectors.Model(ResNet), ["layer1_act", "layer2_act", "layer3_act"],
            new OnnxRuntimeOptions { IntraOpNumThreads = 2 });
        IReadOnlyList<FeatureMapInfo> infos = featurizer.Describe(64, 96); // small probe; non-square works too
        Assert.Equal(new FeatureMapInfo("layer1_act", 256, 16, 24, 4), infos[0]);
        Assert.Equal(new FeatureMapInfo("layer2_act", 512, 8, 12, 8), infos[1]);
        Assert.Equal(new FeatureMapInfo("layer3_act", 1024, 4, 6, 16), infos[2]);
    }
}
