using Microsoft.ML.UFlow.Imaging;

namespace Microsoft.ML.UFlow.Tests.Imaging;

/// <summary>METHOD.md Part B's ground-truth masks: bilinear (align_corners = false) to the evaluation size, then strictly &gt; 0.5.</summary>
public class GroundTruthMaskTests
{
    private static Image Block(int side, int from, int to, int channels)
    {
        var image = new Image(side, side, channels);
        for (int y = from; y <= to; y++)
        {
            for (int x = from; x <= to; x++)
            {
                for (int c = 0; c < channels; c++) image.Pixels[(y * side + x) * channels + c] = 255;
            }
        }
        return image;
    }

    [Fact]
    public void HalvingAveragesPixelPairsAndKeepsOnlyMoreThanHalf()
    {
        // 8 → 4 with align_corners = false samples source 2i + 0.5: output i is the mean of pixels 2i and 2i + 1.
        var mask = new float[16];
        GroundTruthMask.Prepare(Block(8, 2, 5, 1), 8, 4, mask);
        Assert.Equal([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0], mask);
        // Rows and columns 2..4: outputs 1 see pixels 2, 3 (1.0), outputs 2 see 4, 5 (0.5, not > 0.5).
        GroundTruthMask.Prepare(Block(8, 2, 4, 1), 8, 4, mask);
        Assert.Equal([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], mask);
    }

    [Fact]
    public void ColourMasksAreGreyedAndSameSizeMasksOnlyBinarised()
    {
        var mask = new float[64];
        GroundTruthMask.Prepare(Block(8, 2, 4, 3), 8, 8, mask);
        Assert.Equal(9f, mask.Sum());
        Assert.Equal(1f, mask[2 * 8 + 2]);
        Assert.Throws<ArgumentException>(() => GroundTruthMask.Prepare(Block(8, 2, 4, 1), 8, 4, new float[15]));
    }
}
