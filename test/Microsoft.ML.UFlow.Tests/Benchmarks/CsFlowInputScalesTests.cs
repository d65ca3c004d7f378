using Microsoft.ML.UFlow.Benchmarks.Featurization;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Benchmarks;

public class CsFlowInputScalesTests
{
    private static Tensor Ramp(int h, int w)
    {
        var t = new Tensor(1, 1, h, w);
        for (int i = 0; i < t.Length; i++) t.Span[i] = i;
        return t;
    }

    [Theory]
    // Expected source columns printed by PyTorch 1.13: F.interpolate(arange(10), size=o) (default 'nearest').
    [InlineData(10, 3, new[] { 0, 3, 6 })]
    [InlineData(10, 4, new[] { 0, 2, 5, 7 })]
    [InlineData(10, 5, new[] { 0, 2, 4, 6, 8 })]
    [InlineData(10, 6, new[] { 0, 1, 3, 5, 6, 8 })]
    [InlineData(7, 3, new[] { 0, 2, 4 })]
    public void NearestResizePicksPyTorchSourcePixels(int size, int outSize, int[] expectedColumns)
    {
        Tensor output = CsFlowInputScales.NearestResize(Ramp(1, size), 1, outSize);
        Assert.Equal(expectedColumns.Select(c => (float)c), output.Span.ToArray());
    }

    [Fact]
    public void ThreeScalesTakeEverySecondAndFourthPixel()
    {
        Tensor x = Ramp(8, 8);
        Tensor[] scales = CsFlowInputScales.Make(x);
        Assert.Same(x, scales[0]);
        Assert.Equal(new[] { 0f, 2, 4, 6, 16, 18, 20, 22 }, scales[1].Span[..8].ToArray());
        Assert.Equal(new[] { 0f, 4, 32, 36 }, scales[2].Span.ToArray());
    }

    [Fact]
    public void ExtractFeaturesRunsTheFeaturizerPerScaleAndChecksSizes()
    {
        var seen = new List<int>();
        Tensor Featurizer(Tensor image)
        {
            seen.Add(image.H);
            return CsFlowInputScales.NearestResize(image, image.H / 4, image.W / 4); // a "stride-4 backbone"
        }
        Tensor[] f = CsFlowInputScales.ExtractFeatures(Ramp(32, 32), Featurizer);
        Assert.Equal([32, 16, 8], seen);
        Assert.Equal([8, 4, 2], f.Select(t => t.H));

        var ex = Assert.Throws<ArgumentException>(() => CsFlowInputScales.ExtractFeatures(Ramp(32, 32), img => new Tensor(1, 1, 3, 3)));
        Assert.Contains("half", ex.Message);
    }
}
