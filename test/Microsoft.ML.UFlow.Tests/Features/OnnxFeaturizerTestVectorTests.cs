using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Infrastructure;

namespace Microsoft.ML.UFlow.Tests.Features;

/// <summary>
/// Runs both shared backbones once (batch 1, every output) on the test-vector input and checks every output against the
/// statistics ONNX Runtime 1.30 produced when the vectors were made (relative error ≤ 1e-4).
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
}
