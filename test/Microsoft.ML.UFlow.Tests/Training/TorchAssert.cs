using Xunit.Abstractions;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>Element-wise closeness in <c>torch.allclose</c>'s form: |actual − expected| ≤ atol + rtol·|expected|.</summary>
internal static class TorchAssert
{
    /// <summary>Asserts every element is within atol + rtol·|expected|; logs the worst element's excess.</summary>
    public static void AllClose(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atol, ITestOutputHelper? output = null)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        double worstRatio = 0, worstDiff = 0;
        int worst = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs((double)actual[i] - expected[i]);
            double allowed = atol + rtol * Math.Abs(expected[i]);
            double ratio = double.IsNaN(diff) ? double.PositiveInfinity : diff / allowed;
            if (ratio > worstRatio)
            {
                worstRatio = ratio;
                worstDiff = diff;
                worst = i;
            }
        }
        output?.WriteLine($"{what}: max |diff| / (atol + rtol·|expected|) = {worstRatio:F4} (|diff| {worstDiff:E2}, rtol {rtol:E0}, atol {atol:E0})");
        Assert.True(worstRatio <= 1.0, $"{what}[{worst}]: {(worst >= 0 ? actual[worst] : 0)} vs {(worst >= 0 ? expected[worst] : 0)} (|diff| {worstDiff:E2} > atol {atol:E0} + rtol {rtol:E0}·|expected|)");
    }

    /// <summary>The largest magnitude in <paramref name="values"/>.</summary>
    public static float MaxAbs(ReadOnlySpan<float> values) => values.Length == 0 ? 0f : Math.Abs(TensorPrimitives.MaxMagnitude(values));
}
