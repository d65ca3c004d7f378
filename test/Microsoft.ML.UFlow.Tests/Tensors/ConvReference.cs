using Microsoft.ML.UFlow.Nn;

namespace Microsoft.ML.UFlow.Tests.Tensors;

/// <summary>Naive float64 loops: the reference every fast kernel is compared with.</summary>
internal static class ConvReference
{
    public static int Out(int size, int k, int stride) => (size + 2 * (k / 2) - k) / stride + 1;

    public static double[] Forward(double[] x, double[] w, double[]? b, int n, int cin, int h, int wd, int cout, int k, int s)
    {
        int oh = Out(h, k, s), ow = Out(wd, k, s), pad = k / 2;
        var y = new double[n * cout * oh * ow];
        for (int i = 0; i < n; i++)
        for (int co = 0; co < cout; co++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            double sum = b is null ? 0 : b[co];
            for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                int iy = oy * s + ky - pad, ix = ox * s + kx - pad;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                sum += x[((i * cin + ci) * h + iy) * wd + ix] * w[((co * cin + ci) * k + ky) * k + kx];
            }
            y[((i * cout + co) * oh + oy) * ow + ox] = sum;
        }
        return y;
    }

    public static double[] BackwardInput(double[] dy, double[] w, int n, int cin, int h, int wd, int cout, int k, int s)
    {
        int oh = Out(h, k, s), ow = Out(wd, k, s), pad = k / 2;
        var dx = new double[n * cin * h * wd];
        for (int i = 0; i < n; i++)
        for (int co = 0; co < cout; co++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            double d = dy[((i * cout + co) * oh + oy) * ow + ox];
            for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                int iy = oy * s + ky - pad, ix = ox * s + kx - pad;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                dx[((i * cin + ci) * h + iy) * wd + ix] += d * w[((co * cin + ci) * k + ky) * k + kx];
            }
        }
        return dx;
    }

    public static (double[] Dw, double[] Db) BackwardWeight(double[] x, double[] dy, int n, int cin, int h, int wd, int cout, int k, int s)
    {
        int oh = Out(h, k, s), ow = Out(wd, k, s), pad = k / 2;
        var dw = new double[cout * cin * k * k];
        var db = new double[cout];
        for (int i = 0; i < n; i++)
        for (int co = 0; co < cout; co++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            double d = dy[((i * cout + co) * oh + oy) * ow + ox];
            db[co] += d;
            for (int ci = 0; ci < cin; ci++)
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                int iy = oy * s + ky - pad, ix = ox * s + kx - pad;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                dw[((co * cin + ci) * k + ky) * k + kx] += d * x[((i * cin + ci) * h + iy) * wd + ix];
            }
        }
        return (dw, db);
    }

    public static float[] Random(SeededRandom random, int count, float scale = 1f)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++) a[i] = random.NextUniform(-scale, scale);
        return a;
    }

    public static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);

    /// <summary>Asserts |actual − expected| ≤ tol·(scale + |expected|) element-wise, naming the first failure.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, double[] expected, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (double e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (!(err <= tol * (scale + Math.Abs(expected[i])) + 1e-12))
            {
                Assert.Fail($"{what}: element {i} is {actual[i]} but the reference is {expected[i]} (error {err:g3}, max |ref| {scale:g3}).");
            }
        }
    }
}
