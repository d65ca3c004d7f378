namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// Per-output-pixel taps of PIL's (Pillow 9.4) antialiased bilinear resampling along one axis, in its 8-bit fixed
/// point: for output index i the centre is (i + 0.5)·scale, the triangle filter's support is scaled by
/// max(1, scale), taps are clipped to the input, normalised to sum 1 in double precision, and then rounded to
/// integers with 22 fractional bits (the precision Pillow uses for 8-bit images).
/// </summary>
internal sealed class ResampleCoefficients
{
    /// <summary>Fractional bits of the integer weights (Pillow: 32 − 8 − 2).</summary>
    public const int PrecisionBits = 22;

    private ResampleCoefficients(int kernelSize, int[] first, int[] count, int[] weights)
    {
        KernelSize = kernelSize;
        First = first;
        Count = count;
        Weights = weights;
    }

    /// <summary>Stride of <see cref="Weights"/> per output index.</summary>
    public int KernelSize { get; }

    /// <summary>First input index used by each output index.</summary>
    public int[] First { get; }

    /// <summary>Number of input indices used by each output index.</summary>
    public int[] Count { get; }

    /// <summary>Integer weights, <see cref="KernelSize"/> per output index (unused slots are zero).</summary>
    public int[] Weights { get; }

    public static ResampleCoefficients Bilinear(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = 1.0 * filterScale; // the triangle filter's support is 1
        int kernelSize = (int)Math.Ceiling(support) * 2 + 1;
        var first = new int[outSize];
        var count = new int[outSize];
        var weights = new int[outSize * kernelSize];
        var k = new double[kernelSize];
        double inverse = 1.0 / filterScale;
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            int xmin = (int)(center - support + 0.5);
            if (xmin < 0) xmin = 0;
            int xmax = (int)(center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            int n = xmax - xmin;
            double sum = 0;
            for (int x = 0; x < n; x++)
            {
                double t = Math.Abs((x + xmin - center + 0.5) * inverse);
                double w = t < 1.0 ? 1.0 - t : 0.0;
                k[x] = w;
                sum += w;
            }
            for (int x = 0; x < n; x++)
            {
                double w = sum != 0 ? k[x] / sum : k[x];
                weights[i * kernelSize + x] = w < 0 ? (int)(-0.5 + w * (1 << PrecisionBits)) : (int)(0.5 + w * (1 << PrecisionBits));
            }
            first[i] = xmin;
            count[i] = n;
        }
        return new ResampleCoefficients(kernelSize, first, count, weights);
    }
}
