namespace Microsoft.ML.UFlow.Tests.Imaging;

/// <summary>What a mask contour must cover, by brute force, to check the drawn ones against.</summary>
internal static class ContourReference
{
    /// <summary>The foreground pixels with a background pixel (or the outside) within Chebyshev distance <paramref name="t"/>.</summary>
    public static bool[] Band(bool[] mask, int w, int h, int t)
    {
        var band = new bool[mask.Length];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                if (!mask[y * w + x]) continue;
                for (int dy = -t; dy <= t && !band[y * w + x]; dy++)
                {
                    for (int dx = -t; dx <= t; dx++)
                    {
                        int xx = x + dx, yy = y + dy;
                        if (xx < 0 || yy < 0 || xx >= w || yy >= h || !mask[yy * w + xx]) { band[y * w + x] = true; break; }
                    }
                }
            }
        }
        return band;
    }
}
