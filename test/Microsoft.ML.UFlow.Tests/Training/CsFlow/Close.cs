namespace Microsoft.ML.UFlow.Tests.Training.CsFlow;

/// <summary>Element-wise comparisons with stated tolerances.</summary>
internal static class Close
{
    /// <summary>
    /// Asserts |expected − actual| ≤ atol + rtol · max|expected| for every element (the tolerance relative to the largest
    /// magnitude of the compared tensor, as v1's parity tests state it).
    /// </summary>
    public static void AssertScaled(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atol = 0)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0, worst = 0;
        for (int i = 0; i < expected.Length; i++) scale = Math.Max(scale, Math.Abs(expected[i]));
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs((double)expected[i] - actual[i]));
        Assert.True(worst <= rtol * scale + atol, $"{what}: max |difference| {worst:E3} exceeds rtol {rtol:E1} × max |expected| {scale:E3} + atol {atol:E1}.");
    }

    /// <summary>Asserts |expected − actual| ≤ atol + rtol · |expected| element by element (torch.allclose).</summary>
    public static void AssertAll(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            Assert.True(Math.Abs(e - a) <= atol + rtol * Math.Abs(e), $"{what}[{i}]: expected {e:R}, got {a:R} (rtol {rtol:E1}, atol {atol:E1}).");
        }
    }
}
