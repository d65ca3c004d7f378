using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Tensors;

/// <summary>The precomputed bilinear table gives bit-identical results to <see cref="BilinearResize"/>, forward and backward.</summary>
public sealed class BilinearTableTests
{
    [Theory]
    [InlineData(4, 4, 8, 8)]
    [InlineData(3, 5, 6, 10)]
    [InlineData(7, 9, 28, 28)]
    [InlineData(16, 12, 5, 7)]
    [InlineData(1, 1, 3, 2)]
    public void MatchesBilinearResizeBitForBit(int inH, int inW, int outH, int outW)
    {
        var random = new SeededRandom((ulong)(inH * 1000 + outW));
        float[] source = Enumerable.Range(0, inH * inW).Select(_ => (float)random.NextGaussian()).ToArray();
        float[] grad = Enumerable.Range(0, outH * outW).Select(_ => (float)random.NextGaussian()).ToArray();
        var table = new BilinearTable(inH, inW, outH, outW);

        var expected = new float[outH * outW];
        var actual = new float[outH * outW];
        BilinearResize.Forward(source, inH, inW, expected, outH, outW);
        table.Forward(source, actual);
        Assert.Equal(expected, actual);

        float[] expectedGrad = source.ToArray(), actualGrad = source.ToArray(); // accumulate onto non-zero values
        BilinearResize.BackwardAccumulate(grad, outH, outW, expectedGrad, inH, inW);
        table.BackwardAccumulate(grad, actualGrad);
        Assert.Equal(expectedGrad, actualGrad);

        Assert.Same(table, BilinearTable.For(table, inH, inW, outH, outW));
        Assert.NotSame(table, BilinearTable.For(table, inH, inW, outH + 1, outW));
        Assert.Throws<ArgumentException>(() => table.Forward(source.AsSpan(1), actual));
    }
}
