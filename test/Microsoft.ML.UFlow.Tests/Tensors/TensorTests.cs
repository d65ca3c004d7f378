using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Tensors;

public class TensorTests
{
    [Fact]
    public void SampleAndPlaneAddressNchwLayout()
    {
        var t = new Tensor(2, 3, 4, 5);
        for (int i = 0; i < t.Length; i++) t.Span[i] = i;
        Assert.Equal(60f, t.Sample(1)[0]);
        Assert.Equal((1 * 3 + 2) * 20f, t.Plane(1, 2)[0]);
        Assert.Equal(20, t.Plane(0, 0).Length);
    }

    [Fact]
    public void IndicesOutsideTheShapeThrowEvenWhenTheBufferIsLarger()
    {
        var t = new Tensor(4, 3, 4, 5);
        t.EnsureShape(1, 3, 4, 5); // the backing array keeps room for 4 samples
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Sample(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Plane(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Plane(0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Sample(-1));
    }

    [Fact]
    public void TheElementIndexerChecksEveryIndex()
    {
        var t = new Tensor(4, 3, 4, 5);
        t.EnsureShape(2, 3, 4, 5); // the backing array keeps room for 4 samples
        t[1, 2, 3, 4] = 7f;
        Assert.Equal(7f, t.Span[t.Length - 1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => t[2, 0, 0, 0]);  // stale buffer past N
        Assert.Throws<ArgumentOutOfRangeException>(() => t[0, 3, 0, 0]);  // would alias sample 1
        Assert.Throws<ArgumentOutOfRangeException>(() => t[0, 0, 4, 0]);  // would alias channel 1
        Assert.Throws<ArgumentOutOfRangeException>(() => t[0, 0, 0, 5]);  // would alias the next row
        Assert.Throws<ArgumentOutOfRangeException>(() => t[0, -1, 0, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => t[0, 0, 0, 5] = 1f);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Tensor(3, 4, 5)[0, 0, 0, 0]);
    }

    [Fact]
    public void ShapeErrorsNameTheTensorAndBothShapes()
    {
        var t = new Tensor(1, 2, 3, 3);
        var e = Assert.Throws<ArgumentException>(() => t.CheckShape("latents", 1, 2, 4, 4));
        Assert.Contains("latents", e.Message);
        Assert.Contains("[1, 2, 3, 3]", e.Message);
        Assert.Contains("[1, 2, 4, 4]", e.Message);
    }
}
