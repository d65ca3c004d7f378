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

    [Fact]
    public void A_rectangular_mask_keeps_its_aspect_on_a_rectangular_grid()
    {
        // A 16x8 (W×H) mask with columns 8..11 of rows 2..5 set; input 16x8, map 4x8 (H×W): each output averages 2x2 pixels.
        var image = new Image(16, 8, 1);
        for (int y = 2; y <= 5; y++) for (int x = 8; x <= 11; x++) image.Pixels[y * 16 + x] = 255;
        var mask = new float[4 * 8];
        GroundTruthMask.Prepare(image, 16, 8, 4, 8, mask);
        var expected = new float[32];
        for (int y = 1; y <= 2; y++) for (int x = 4; x <= 5; x++) expected[y * 8 + x] = 1;
        Assert.Equal(expected, mask);
        Assert.Throws<ArgumentException>(() => GroundTruthMask.Prepare(image, 16, 8, 8, 4, new float[31]));
    }
}
