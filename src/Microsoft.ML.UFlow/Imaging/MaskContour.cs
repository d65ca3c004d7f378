namespace Microsoft.ML.UFlow.Imaging;

/// <summary>Draws the outline of a binary mask (ground truth or predicted segmentation) on an image.</summary>
public static class MaskContour
{
    /// <summary>
    /// Returns an RGB copy of <paramref name="image"/> with the contour of <paramref name="mask"/> drawn in
    /// <paramref name="color"/>. Foreground is mask value &gt; <paramref name="threshold"/> (1-channel mask of the
    /// image's size). Contour pixels are foreground pixels within Chebyshev distance <paramref name="thickness"/> of a
    /// background pixel (outside the image counts as background), so the line lies just inside the region.
    /// </summary>
    public static Image Draw(Image image, Image mask, (byte R, byte G, byte B) color, int thickness = 1, byte threshold = 127)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(mask);
        if (mask.Channels != 1) throw new ArgumentException("The mask must have one channel.", nameof(mask));
        if (mask.Width != image.Width || mask.Height != image.Height)
        {
            throw new ArgumentException($"Mask is {mask.Width}x{mask.Height} but the image is {image.Width}x{image.Height}.", nameof(mask));
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(thickness);
        int w = image.Width, h = image.Height;
        bool[] fg = new bool[w * h];
        for (int i = 0; i < fg.Length; i++) fg[i] = mask.Pixels[i] > threshold;
        // Erode `thickness` times with a 3×3 square; the contour is what the erosion removed.
        bool[] eroded = fg, next = new bool[w * h];
        for (int t = 0; t < thickness; t++)
        {
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    bool keep = eroded[y * w + x];
                    for (int dy = -1; dy <= 1 && keep; dy++)
                    {
                        int yy = y + dy;
                        for (int dx = -1; dx <= 1 && keep; dx++)
                        {
                            int xx = x + dx;
                            keep = (uint)yy < (uint)h && (uint)xx < (uint)w && eroded[yy * w + xx];
                        }
                    }
                    next[y * w + x] = keep;
                }
            }
            (eroded, next) = (next, eroded == fg ? new bool[w * h] : eroded);
        }
        Image result = image.ToRgb() == image ? image.Clone() : image.ToRgb();
        Span<byte> px = result.Pixels;
        for (int i = 0; i < fg.Length; i++)
        {
            if (fg[i] && !eroded[i])
            {
                px[3 * i] = color.R; px[3 * i + 1] = color.G; px[3 * i + 2] = color.B;
            }
        }
        return result;
    }
}
