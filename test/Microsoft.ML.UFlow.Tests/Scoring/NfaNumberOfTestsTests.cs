using Microsoft.ML.UFlow.Scoring;

namespace Microsoft.ML.UFlow.Tests.Scoring;

public class NfaNumberOfTestsTests
{
    [Fact]
    public void MsCaitShapesGive476_92371()
    {
        double value = NfaNumberOfTests.Log10([28 * 28, 14 * 14]);
        Assert.Equal(476.92371, value, 5);
        Assert.Equal(476.9237061f, (float)value);
        Assert.Equal(476.92371, NfaNumberOfTests.Log10([28 * 28]), 5); // the coarse scale is negligible
    }

    [Fact]
    public void ResNetShapesGiveMethodValues()
    {
        Assert.Equal(2493.27, NfaNumberOfTests.Log10([64 * 64, 32 * 32, 16 * 16]), 2);
        Assert.Equal(7636.42, NfaNumberOfTests.Log10([112 * 112, 56 * 56, 28 * 28]), 2);
    }

    [Fact]
    public void SmallSizesMatchDirectSum()
    {
        // Direct double sum is exact enough for small regions: Σ_l A_l Σ_n α βⁿ / n.
        foreach (int[] scales in new[] { new[] { 1 }, new[] { 4, 1 }, new[] { 25 }, new[] { 36, 9, 4 } })
        {
            double total = 0;
            foreach (int a in scales)
            {
                double inner = 0;
                for (int n = 1; n <= a; n++) inner += NfaNumberOfTests.PolyominoAlpha * Math.Pow(NfaNumberOfTests.PolyominoBeta, n) / n;
                total += a * inner;
            }
            Assert.Equal(Math.Log10(total), NfaNumberOfTests.Log10(scales), 12);
        }
    }

    [Fact]
    public void InvalidScalesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => NfaNumberOfTests.Log10([]));
        Assert.Throws<ArgumentException>(() => NfaNumberOfTests.Log10([784, 0]));
    }
}
