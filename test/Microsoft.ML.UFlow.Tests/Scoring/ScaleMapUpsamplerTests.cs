using Microsoft.ML.UFlow.Data;
using Microsoft.ML.UFlow.Scoring;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Scoring;

public class ScaleMapUpsamplerTests
{
    [Theory]
    [InlineData(28, 28, 256, 256)]
    [InlineData(14, 14, 256, 256)]
    [InlineData(64, 64, 256, 256)]
    [InlineData(16, 16, 448, 448)]
    [InlineData(5, 7, 13, 13)]
    [InlineData(30, 30, 20, 20)]
    [InlineData(8, 10, 256, 320)] // a 320x256 input at stride 32
    [InlineData(20, 6, 213, 64)]
    public void BilinearIsBitIdenticalToBilinearResize(int inHeight, int inWidth, int outHeight, int outWidth)
    {
        var rng = new SeededRandom((ulong)(inHeight * 1000 + outHeight));
        var source = new float[inHeight * inWidth];
        for (int i = 0; i < source.Length; i++) source[i] = rng.NextUniform(-3000f, 10f);
        var expected = new float[outHeight * outWidth];
        BilinearResize.Forward(source, inHeight, inWidth, expected, outHeight, outWidth);
        var actual = new float[outHeight * outWidth];
        new ScaleMapUpsampler().Upsample(source, inHeight, inWidth, actual, outHeight, outWidth, NfaUpsampling.Bilinear, accumulateMinimum: false);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void NearestFollowsPyTorchIndexRuleAndMinimumAccumulates()
    {
        var source = new float[] { 1, 2, 3, 4, 5, 6 }; // 2×3
        var upsampler = new ScaleMapUpsampler();
        var result = new float[25];
        upsampler.Upsample(source, 2, 3, result, 5, 5, NfaUpsampling.Nearest, accumulateMinimum: false);
        // PyTorch: rows floor(y·2/5) = 0,0,0,1,1; columns floor(x·3/5) = 0,0,1,1,2.
        float[] firstRow = [1, 1, 2, 2, 3], lastRow = [4, 4, 5, 5, 6];
        Assert.Equal(firstRow, result.AsSpan(0, 5).ToArray());
        Assert.Equal(lastRow, result.AsSpan(20, 5).ToArray());
        var lower = new float[] { 0, 9, 9, 9, 9, 9 };
        upsampler.Upsample(lower, 2, 3, result, 5, 5, NfaUpsampling.Nearest, accumulateMinimum: true);
        Assert.Equal(new float[] { 0, 0, 2, 2, 3 }, result.AsSpan(0, 5).ToArray());
    }
}
