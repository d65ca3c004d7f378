using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;
using Microsoft.ML.UFlow.Tests.Tensors;

namespace Microsoft.ML.UFlow.Tests.Nn;

/// <summary>
/// Every backward pass against central finite differences of a float64 reference forward (naive loops), for the loss
/// L = Σ r ⊙ f(x) with a fixed random r. Analytic gradients are our float32 ones.
/// </summary>
public sealed class GradientCheckTests
{
    private const double H = 1e-4;

    // Tolerance: the float64 differences are accurate to ~1e-8; our float32 gradients to ~1e-6 relative to the scale.
    private const double Tol = 1e-4;

    [Theory]
    [InlineData(2, 3, 4, 6, 5, 1, 1)]
    [InlineData(1, 3, 5, 7, 6, 3, 1)]
    [InlineData(2, 2, 3, 6, 7, 5, 1)]
    [InlineData(2, 3, 4, 7, 6, 3, 2)]
    [InlineData(1, 2, 3, 9, 8, 5, 2)]
    public void Conv2dGradientsMatchFiniteDifferences(int n, int cin, int cout, int h, int w, int k, int stride)
    {
        var random = new SeededRandom(5);
        var conv = new Conv2d(cin, cout, k, random, stride);
        var x = new Tensor(ConvReference.Random(random, n * cin * h * w), n, cin, h, w);
        int oh = Convolution.OutputSize(h, k, stride), ow = Convolution.OutputSize(w, k, stride);
        double[] r = ConvReference.ToDouble(ConvReference.Random(random, n * cout * oh * ow));
        double[] xd = ConvReference.ToDouble(x.Span.ToArray()), wd = ConvReference.ToDouble(conv.Weight.Value.Span.ToArray()), bd = ConvReference.ToDouble(conv.Bias.Value.Span.ToArray());
        double Loss(double[] xx, double[] ww, double[] bb) => Dot(r, ConvReference.Forward(xx, ww, bb, n, cin, h, w, cout, k, stride));

        conv.Forward(x);
        var gradOutput = new Tensor(Array.ConvertAll(r, v => (float)v), n, cout, oh, ow);
        Tensor dx = conv.Backward(gradOutput);

        AssertMatches(dx.Span, xd, v => Loss(v, wd, bd), "∂L/∂x");
        AssertMatches(conv.Weight.Grad.Span, wd, v => Loss(xd, v, bd), "∂L/∂W");
        AssertMatches(conv.Bias.Grad.Span, bd, v => Loss(xd, wd, v), "∂L/∂b");
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.2f)]
    public void LeakyReLUChainMatchesFiniteDifferences(float slope)
    {
        // conv → LeakyReLU → conv: checks the activation backward and the chaining of Sequential.
        var random = new SeededRandom(9);
        int n = 2, c = 3, h = 5, w = 4;
        var c1 = new Conv2d(c, 4, 3, random, name: "c1");
        var c2 = new Conv2d(4, 2, 1, random, name: "c2");
        ILayer act = slope == 0f ? new ReLU() : new LeakyReLU(slope);
        var net = new Sequential(c1, act, c2);
        var x = new Tensor(ConvReference.Random(random, n * c * h * w), n, c, h, w);
        double[] r = ConvReference.ToDouble(ConvReference.Random(random, n * 2 * h * w));
        double[] w1 = ConvReference.ToDouble(c1.Weight.Value.Span.ToArray()), b1 = ConvReference.ToDouble(c1.Bias.Value.Span.ToArray());
        double[] w2 = ConvReference.ToDouble(c2.Weight.Value.Span.ToArray()), b2 = ConvReference.ToDouble(c2.Bias.Value.Span.ToArray());
        double Loss(double[] xx, double[] ww1)
        {
            double[] a = ConvReference.Forward(xx, ww1, b1, n, c, h, w, 4, 3, 1);
            for (int i = 0; i < a.Length; i++) a[i] = a[i] > 0 ? a[i] : slope * a[i];
            return Dot(r, ConvReference.Forward(a, w2, b2, n, 4, h, w, 2, 1, 1));
        }

        net.Forward(x);
        Tensor dx = net.Backward(new Tensor(Array.ConvertAll(r, v => (float)v), n, 2, h, w));
        double[] xd = ConvReference.ToDouble(x.Span.ToArray());
        AssertMatches(dx.Span, xd, v => Loss(v, w1), "∂L/∂x through the activation");
        AssertMatches(c1.Weight.Grad.Span, w1, v => Loss(xd, v), "∂L/∂W1 through the activation");
        Assert.Equal(2, net.Parameters.Count / 2);
    }

    [Fact]
    public void Conv2dUsesPyTorchDefaultInitialisationFromTheSeed()
    {
        var a = new Conv2d(8, 6, 3, new SeededRandom(42));
        var b = new Conv2d(8, 6, 3, new SeededRandom(42));
        float bound = 1f / MathF.Sqrt(8 * 9);
        Assert.True(a.Weight.Value.Span.SequenceEqual(b.Weight.Value.Span));
        Assert.True(a.Bias.Value.Span.SequenceEqual(b.Bias.Value.Span));
        Assert.All(a.Weight.Value.Span.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(a.Bias.Value.Span.ToArray(), v => Assert.InRange(v, -bound, bound));
        // Uniform over the whole interval, not a corner of it.
        Assert.True(a.Weight.Value.Span.ToArray().Max() > 0.8f * bound && a.Weight.Value.Span.ToArray().Min() < -0.8f * bound);
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>Compares every analytic component with (L(v + h·e_i) − L(v − h·e_i)) / 2h.</summary>
    private static void AssertMatches(ReadOnlySpan<float> analytic, double[] at, Func<double[], double> loss, string what)
    {
        Assert.Equal(at.Length, analytic.Length);
        var numeric = new double[at.Length];
        for (int i = 0; i < at.Length; i++)
        {
            double[] plus = (double[])at.Clone(), minus = (double[])at.Clone();
            plus[i] += H;
            minus[i] -= H;
            numeric[i] = (loss(plus) - loss(minus)) / (2 * H);
        }
        ConvReference.AssertClose(analytic, numeric, Tol, what);
    }
}
