using Microsoft.ML.UFlow.Training;

namespace Microsoft.ML.UFlow.Tests.Training;

/// <summary>The held-out slice of the normal training images: seeded, disjoint from the training images, sized as documented.</summary>
public sealed class HeldOutSplitTests
{
    [Theory]
    [InlineData(209, 0.1, 21)]
    [InlineData(100, 0.1, 10)]
    [InlineData(12, 0.1, 4)] // at least 4
    [InlineData(40, 0.25, 10)]
    public void The_slice_is_seeded_disjoint_and_covers_the_images(int count, double fraction, int expected)
    {
        HeldOutSplit a = HeldOutSplit.Choose(count, fraction, seed: 7, "test");
        HeldOutSplit b = HeldOutSplit.Choose(count, fraction, seed: 7, "test");
        Assert.Equal(a.HeldOut, b.HeldOut);
        Assert.Equal(a.Training, b.Training);
        Assert.Equal(expected, a.HeldOut.Length);
        Assert.Empty(a.HeldOut.Intersect(a.Training));
        Assert.Equal(Enumerable.Range(0, count), a.HeldOut.Concat(a.Training).Order());
        Assert.Equal(a.HeldOut.Order(), a.HeldOut);
        Assert.True(a.SameAs(HeldOutSplit.FromHeldOut(count, a.HeldOut)));
        // Another seed holds out other images; the slice is not simply the first or last images.
        Assert.NotEqual(a.HeldOut, HeldOutSplit.Choose(count, fraction, seed: 8, "test").HeldOut);
        Assert.NotEqual(Enumerable.Range(0, expected), a.HeldOut);
    }

    [Fact]
    public void Fraction_zero_trains_on_every_image()
    {
        HeldOutSplit split = HeldOutSplit.Choose(5, 0, seed: 1, "test");
        Assert.Empty(split.HeldOut);
        Assert.Equal(Enumerable.Range(0, 5), split.Training);
    }

    [Fact]
    public void Too_few_images_to_train_on_are_refused_with_the_remedy()
    {
        var e = Assert.Throws<ArgumentException>(() => HeldOutSplit.Choose(7, 0.1, seed: 0, "UFlowTrainer"));
        Assert.Contains("UFlowTrainer: 7 normal training images", e.Message);
        Assert.Contains("held-out fraction to 0", e.Message);
        Assert.Equal(4, HeldOutSplit.Choose(8, 0.1, seed: 0, "test").Training.Length); // 8 − 4 = 4 still trains
        Assert.Throws<ArgumentOutOfRangeException>(() => HeldOutSplit.Choose(10, 1.0, seed: 0, "test"));
    }
}
