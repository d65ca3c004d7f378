namespace Microsoft.ML.UFlow.Scoring;

/// <summary>
/// The node significance of the tree NFA (METHOD.md A.7.3): log10 PFA(R) = |R| · [−(C/2)·(u − 1 − ln u)/ln 10] with
/// u = x/C, x = the smallest chi-square statistic in R. This is |R| times the base-10 log of the Chernoff bound
/// P(χ²_C ≥ x) ≤ (u·e^{1−u})^{C/2}.
/// </summary>
public static class ChernoffChiSquare
{
    private static readonly double InverseLn10 = 1.0 / Math.Log(10.0);

    /// <summary>
    /// log10 of the Chernoff tail bound for one pixel, P(χ²_C ≥ x). As in the official code the expression is
    /// applied for every u = x/C, including u &lt; 1 where the bound is not valid (it is then also negative);
    /// with <paramref name="underDispersionGuard"/> the value is 0 for u ≤ 1 (a documented deviation).
    /// </summary>
    /// <param name="statistic">x = Σ_c z_c² (≥ 0).</param>
    /// <param name="channels">C, the degrees of freedom (&gt; 0).</param>
    /// <param name="underDispersionGuard">Set the bound to 0 (probability 1) for u ≤ 1.</param>
    public static double Log10TailBound(double statistic, int channels, bool underDispersionGuard = false)
    {
        double u = statistic / channels;
        if (underDispersionGuard && u <= 1.0)
        {
            return 0.0;
        }
        return -0.5 * channels * (u - 1.0 - Math.Log(u)) * InverseLn10;
    }

    /// <summary>log10 PFA of a region of <paramref name="regionSize"/> pixels whose minimum statistic is <paramref name="minimumStatistic"/>.</summary>
    public static double Log10Pfa(int regionSize, double minimumStatistic, int channels, bool underDispersionGuard = false)
        => regionSize * Log10TailBound(minimumStatistic, channels, underDispersionGuard);
}
