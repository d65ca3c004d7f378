namespace Microsoft.ML.UFlow.Tests.Onnx;

/// <summary>
/// allclose-style comparison: every element must satisfy |actual − expected| ≤ atol + rtol·|expected|. Returns the
/// largest absolute error and the largest relative error |actual − expected| / |expected| over elements with
/// |expected| ≥ 1e-3 (where a relative error means something), for the report.
/// </summary>
internal static class Closeness
{
    public static (double MaxAbs, double MaxRel) Assert(string what, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double rtol, double atol, Xunit.Abstractions.ITestOutputHelper? log = null)
    {
        Xunit.Assert.True(actual.Length == expected.Length, $"{what}: {actual.Length} values vs {expected.Length} expected.");
        double maxAbs = 0, maxRel = 0, maxExpected = 0;
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i], diff = Math.Abs(a - e);
            if (!double.IsFinite(a) || !double.IsFinite(e)) Xunit.Assert.Fail($"{what}[{i}]: {a} vs {e} (not finite).");
            maxAbs = Math.Max(maxAbs, diff);
            maxExpected = Math.Max(maxExpected, Math.Abs(e));
            if (Math.Abs(e) >= 1e-3) maxRel = Math.Max(maxRel, diff / Math.Abs(e));
            double excess = diff - (atol + rtol * Math.Abs(e));
            if (excess > worstExcess)
            {
                worstExcess = excess;
                worst = i;
            }
        }
        log?.WriteLine($"{what}: {actual.Length} values, max abs err {maxAbs:E2}, max rel err {maxRel:E2}, max |expected| {maxExpected:E2} (rtol {rtol:E0}, atol {atol:E0})");
        if (worst >= 0) Xunit.Assert.Fail($"{what}[{worst}]: {actual[worst]} vs {expected[worst]} exceeds atol {atol} + rtol {rtol}·|expected| (max abs err {maxAbs:E3}).");
        return (maxAbs, maxRel);
    }
}
