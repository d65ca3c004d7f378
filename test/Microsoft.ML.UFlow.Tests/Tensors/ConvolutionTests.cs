using Microsoft.ML.UFlow.Nn;
using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Tests.Tensors;

public sealed class ConvolutionTests
{
    // (batch, cin, cout, h, w, k, stride): awkward channel counts and sizes around the tile and vector widths.
    public static TheoryData<int, int, int, int, int, int, int> Shapes() => new()
    {
        { 1, 3, 5, 7, 9, 3, 1 },
        { 2, 7, 17, 6, 5, 3, 1 },
        { 1, 17, 33, 9, 8, 1, 1 },
        { 2, 5, 13, 11, 7, 5, 1 },
        { 1, 3, 4, 9, 9, 7, 1 },
        { 2, 6, 7, 9, 10, 3, 2 },
        { 1, 4, 9, 11, 13, 5, 2 },
        { 1, 33, 65, 5, 7, 1, 2 },
        { 1, 2, 3, 1, 1, 3, 1 },
        { 3, 29, 31, 13, 17, 3, 1 },
    };

    private static IEnumerable<(GemmKernel Kernel, int Threads)> Configurations()
    {
        foreach (var kernel in GemmKernel.Supported())
        {
            yield return (kernel, 1);
            yield return (kernel, 2);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardAndBackwardMatchNaiveFloat64Loops(int n, int cin, int cout, int h, int w, int k, int s)
    {
        var random = new SeededRandom((ulong)(n * 1000 + cin * 100 + k * 10 + s));
        int oh = ConvReference.Out(h, k, s), ow = ConvReference.Out(w, k, s);
        float[] x = ConvReference.Random(random, n * cin * h * w), wt = ConvReference.Random(random, cout * cin * k * k);
        float[] b = ConvReference.Random(random, cout), dy = ConvReference.Random(random, n * cout * oh * ow);
        double[] y = ConvReference.Forward(ConvReference.ToDouble(x), ConvReference.ToDouble(wt), ConvReference.ToDouble(b), n, cin, h, w, cout, k, s);
        double[] dx = ConvReference.BackwardInput(ConvReference.ToDouble(dy), ConvReference.ToDouble(wt), n, cin, h, w, cout, k, s);
        var (dw, db) = ConvReference.BackwardWeight(ConvReference.ToDouble(x), ConvReference.ToDouble(dy), n, cin, h, w, cout, k, s);
        var g = new ConvGeometry(n, cin, cout, h, w, oh, ow, k, s);
        string shape = $"n={n} cin={cin} cout={cout} {h}×{w} k={k} s={s}";
        // Sums of up to Cin·k² (or N·P) float32 products of values in [-1, 1]; tolerance relative to the largest value.
        const double Tol = 1e-5;
        foreach (var (kernel, threads) in Configurations())
        {
            string what = $"{shape} {kernel} threads={threads}";
            var yOut = new float[y.Length];
            ConvKernels.Forward(kernel, threads, g, x, wt, b, yOut);
            ConvReference.AssertClose(yOut, y, Tol, "forward " + what);

            var dxOut = new float[dx.Length];
            dxOut.AsSpan().Fill(float.NaN); // must be overwritten
            ConvKernels.BackwardInput(kernel, threads, g, dy, wt, dxOut);
            ConvReference.AssertClose(dxOut, dx, Tol, "input gradient " + what);

            var dwOut = new float[dw.Length];
            var dbOut = new float[db.Length];
            ConvKernels.BackwardWeight(kernel, threads, g, x, dy, dwOut, dbOut, accumulate: false);
            ConvReference.AssertClose(dwOut, dw, Tol, "weight gradient " + what);
            ConvReference.AssertClose(dbOut, db, Tol, "bias gradient " + what);

            // Accumulation adds to what is there, as PyTorch accumulates parameter gradients.
            ConvKernels.BackwardWeight(kernel, threads, g, x, dy, dwOut, dbOut, accumulate: true);
            ConvReference.AssertClose(dwOut, Array.ConvertAll(dw, v => 2 * v), Tol, "accumulated weight gradient " + what);
            ConvReference.AssertClose(dbOut, Array.ConvertAll(db, v => 2 * v), Tol, "accumulated bias gradient " + what);
        }
    }

    [Fact]
    public void PublicApiChecksShapesWithClearMessages()
    {
        var x = new Tensor(1, 3, 8, 8);
        var w = new Tensor(4, 3, 3, 3);
        var ex = Assert.Throws<ArgumentException>(() => Convolution.Forward(x, w, null, 1, new Tensor(1, 4, 7, 8)));
        Assert.Contains("output", ex.Message);
        Assert.Contains("[1, 4, 8, 8]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Convolution.Forward(x, new Tensor(4, 2, 3, 3), null, 1, new Tensor(1, 4, 8, 8)));
        Assert.Contains("input channels", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Convolution.Forward(x, new Tensor(4, 3, 2, 2), null, 1, new Tensor(1, 4, 8, 8)));
        Assert.Contains("odd", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Convolution.Forward(x, w, null, 3, new Tensor(1, 4, 3, 3)));
        ex = Assert.Throws<ArgumentException>(() => Convolution.Forward(x, w, new Tensor(5), 1, new Tensor(1, 4, 8, 8)));
        Assert.Contains("bias", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Convolution.BackwardInput(new Tensor(1, 4, 4, 4), w, 1, new Tensor(1, 3, 8, 8)));
        Assert.Contains("gradOutput", ex.Message);
    }

    [Fact]
    public void ResultsAreBitIdenticalForAnyThreadCountAndRepeatable()
    {
        foreach (var (k, s, h) in new[] { (3, 1, 20), (1, 1, 20), (3, 2, 21), (5, 2, 12) })
        {
            var random = new SeededRandom(11);
            int n = 2, cin = 40, cout = 70;
            var x = new Tensor(ConvReference.Random(random, n * cin * h * h), n, cin, h, h);
            var w = new Tensor(ConvReference.Random(random, cout * cin * k * k, 0.1f), cout, cin, k, k);
            var b = new Tensor(ConvReference.Random(random, cout), cout);
            int o = Convolution.OutputSize(h, k, s);
            var dy = new Tensor(ConvReference.Random(random, n * cout * o * o), n, cout, o, o);
            float[]? reference = null;
            int saved = Engine.Threads;
            try
            {
                foreach (int threads in new[] { 1, 2, 3, 1 })
                {
                    Engine.Threads = threads;
                    var y = new Tensor(n, cout, o, o);
                    var dx = new Tensor(n, cin, h, h);
                    var dw = new Tensor(cout, cin, k, k);
                    var db = new Tensor(cout);
                    Convolution.Forward(x, w, b, s, y);
                    Convolution.BackwardInput(dy, w, s, dx);
                    Convolution.BackwardWeight(x, dy, s, dw, db, accumulate: false);
                    float[] all = [.. y.Span, .. dx.Span, .. dw.Span, .. db.Span];
                    if (reference is null) reference = all;
                    else Assert.True(reference.AsSpan().SequenceEqual(all), $"k={k} s={s}: threads={threads} is not bit-identical to threads=1");
                }
            }
            finally
            {
                Engine.Threads = saved;
            }
        }
    }
}
