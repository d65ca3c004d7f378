using System.Text.Json;
using Microsoft.ML.UFlow.Features;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Features;

/// <summary>
/// MS-CaiT on the small random-weight CaiT-shaped pair made by test/golden/ort_mscait.py (real CaiT weights cannot be
/// obtained here): the maps must equal PyTorch's (fine model on the 448 input, coarse model on its bicubic
/// align-corners 224 downsampling, tokens reshaped row-major).
/// </summary>
public sealed class MsCaitFeaturizerTests
{
    private static readonly OnnxRuntimeOptions TwoThreads = new() { IntraOpNumThreads = 2 };

    private static MsCaitFeaturizer Open() =>
        new(MsCaitFixtures.File("mscait_fine.onnx"), MsCaitFixtures.File("mscait_coarse.onnx"), TwoThreads);

    [Fact]
    public void MapsMatchPyTorchForABatchOfTwo()
    {
        using JsonDocument doc = MsCaitFixtures.Json("mscait.json");
        int[] fineShape = MsCaitFixtures.Ints(doc.RootElement.GetProperty("fine_shape"));
        int[] coarseShape = MsCaitFixtures.Ints(doc.RootElement.GetProperty("coarse_shape"));
        float[] expected = MsCaitFixtures.RawFloats("mscait_expected.f32");
        using MsCaitFeaturizer featurizer = Open();
        Assert.Equal(448, featurizer.InputSize);
        Assert.Equal(224, featurizer.CoarseInputSize);
        IReadOnlyList<Tensor> maps = featurizer.Extract(MsCaitFixtures.Pattern(2, 448));
        Assert.True(maps[0].SameShape(fineShape), $"{maps[0]} vs {Tensor.Format(fineShape)}");
        Assert.True(maps[1].SameShape(coarseShape), $"{maps[1]} vs {Tensor.Format(coarseShape)}");
        AssertClose("scale1", expected.AsSpan(0, maps[0].Length), maps[0].Span);
        AssertClose("scale2", expected.AsSpan(maps[0].Length, maps[1].Length), maps[1].Span);
    }

    private static void AssertClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            // LayerNorm output is O(1): relative 1e-4 with that scale as the floor for values near zero.
            double error = Math.Abs(actual[i] - expected[i]) / Math.Max(1.0, Math.Abs(expected[i]));
            Assert.True(error <= 1e-4, $"{what}[{i}]: {actual[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void DescribeGivesChannelsAndStridesOfBothScales()
    {
        using MsCaitFeaturizer featurizer = Open();
        IReadOnlyList<FeatureMapInfo> infos = featurizer.Describe(448, 448);
        Assert.Equal(new FeatureMapInfo("scale1", 24, 28, 28, 16), infos[0]);
        Assert.Equal(new FeatureMapInfo("scale2", 16, 14, 14, 32), infos[1]);
        Assert.Throws<ArgumentException>(() => featurizer.Describe(256, 256));
    }

    [Fact]
    public void ModelsFromBytesGiveTheSameMapsAsFromFiles()
    {
        Tensor batch = MsCaitFixtures.Pattern(1, 448);
        using MsCaitFeaturizer fromFiles = Open();
        using MsCaitFeaturizer fromBytes = MsCaitFeaturizer.FromBytes(
            File.ReadAllBytes(MsCaitFixtures.File("mscait_fine.onnx")), File.ReadAllBytes(MsCaitFixtures.File("mscait_coarse.onnx")), TwoThreads);
        IReadOnlyList<Tensor> a = fromFiles.Extract(batch), b = fromBytes.Extract(batch);
        Assert.Equal(a[0].Span.ToArray(), b[0].Span.ToArray());
        Assert.Equal(a[1].Span.ToArray(), b[1].Span.ToArray());
    }

    [Fact]
    public void WrongInputSizeIsRejected()
    {
        using MsCaitFeaturizer featurizer = Open();
        var e = Assert.Throws<ArgumentException>(() => featurizer.Extract(new Tensor(1, 3, 224, 224)));
        Assert.Contains("448", e.Message);
    }

    [Fact]
    public void TokensBecomeMapsInRowMajorOrder()
    {
        var tokens = new Tensor(1, 6, 2); // B=1, N=2x3 tokens, D=2
        for (int i = 0; i < tokens.Length; i++) tokens.Span[i] = i;
        var map = new Tensor(1);
        TokenMaps.ToMaps(tokens, 2, 3, map);
        Assert.True(map.SameShape([1, 2, 2, 3]));
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    Assert.Equal(tokens.Span[(i * 3 + j) * 2 + c], map[0, c, i, j]);
    }
}
