namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// The number of tests N_T of the a-contrario tree NFA (METHOD.md A.7.6): all 4-connected regions of every size at
/// every position of every scale, with the polyomino count of size n approximated by α·βⁿ/n (Jensen &amp; Guttmann):
/// N_T = Σ_l (H_l·W_l) · Σ_{n=1}^{H_l·W_l} α·βⁿ/n. The value overflows double (10^477 for MS-CaiT), so it is
/// accumulated in log space.
/// </summary>
public static class NfaNumberOfTests
{
    /// <summary>Polyomino growth prefactor α.</summary>
    public const double PolyominoAlpha = 0.316915;

    /// <summary>Polyomino growth constant β.</summary>
    public const double PolyominoBeta = 4.062570;

    /// <summary>
    /// log10 N_T in double precision for scales of the given pixel counts (H_l·W_l). MS-CaiT (784, 196) gives
    /// 476.92371; ResNet at 256 (4096, 1024, 256) gives 2493.27.
    /// </summary>
    /// <exception cref="ArgumentException">No scale is given or a pixel count is not positive.</exception>
    public static double Log10(ReadOnlySpan<int> pixelsPerScale)
    {
        if (pixelsPerScale.IsEmpty)
        {
            throw new ArgumentException("At least one scale is needed.", nameof(pixelsPerScale));
        }
        Span<double> perScale = pixelsPerScale.Length <= 16 ? stackalloc double[pixelsPerScale.Length] : new double[pixelsPerScale.Length];
        for (int l = 0; l < pixelsPerScale.Length; l++)
        {
            int a = pixelsPerScale[l];
            if (a <= 0)
            {
                throw new ArgumentException($"Scale {l} has {a} pixels; pixel counts must be positive.", nameof(pixelsPerScale));
            }
            perScale[l] = Math.Log10(a) + Log10PolyominoSum(a);
        }
        return Log10SumOfPowers(perScale);
    }

    /// <summary>log10 of Σ_{n=1}^{maxSize} α·βⁿ/n (the terms grow with n, so the last one is the reference).</summary>
    internal static double Log10PolyominoSum(int maxSize)
    {
        double log10Alpha = Math.Log10(PolyominoAlpha), log10Beta = Math.Log10(PolyominoBeta);
        double top = log10Alpha + maxSize * log10Beta - Math.Log10(maxSize);
        double sum = 0;
        for (int n = maxSize; n >= 1; n--)
        {
            double relative = log10Alpha + n * log10Beta - Math.Log10(n) - top;
            if (relative < -40)
            {
                break; // the remaining (smaller) terms no longer change a double
            }
            sum += Math.Pow(10, relative);
        }
        return top + Math.Log10(sum);
    }

    private static double Log10SumOfPowers(ReadOnlySpan<double> log10Terms)
    {
        double max = double.NegativeInfinity;
        foreach (double t in log10Terms)
        {
            max = Math.Max(max, t);
        }
        double sum = 0;
        foreach (double t in log10Terms)
        {
            sum += Math.Pow(10, t - max);
        }
        return max + Math.Log10(sum);
    }
}
