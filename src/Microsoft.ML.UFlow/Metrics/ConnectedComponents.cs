namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// Labelling of the connected components of a binary mask with 8-connectivity (a 3×3 structuring element), as the
/// MVTec AD official AUPRO does (<c>scipy.ndimage.label</c> with <c>np.ones((3, 3))</c>). Components are numbered 1..n
/// in raster order of their first pixel; background is 0.
/// </summary>
public static class ConnectedComponents
{
    /// <summary>
    /// Labels the 8-connected components of <paramref name="mask"/> (row-major, <paramref name="height"/>×<paramref name="width"/>).
    /// </summary>
    /// <param name="mask">True for foreground pixels.</param>
    /// <param name="height">Rows.</param>
    /// <param name="width">Columns.</param>
    /// <param name="labels">Receives 0 for background, 1..n for the components.</param>
    /// <returns>The number of components n.</returns>
    /// <exception cref="ArgumentException">The spans do not hold height×width values.</exception>
    public static int Label8(ReadOnlySpan<bool> mask, int height, int width, Span<int> labels) =>
        Label8(mask, height, width, labels, null);

    /// <summary>As the public overload, with a reusable stack of at least height×width entries (allocated when null).</summary>
    internal static int Label8(ReadOnlySpan<bool> mask, int height, int width, Span<int> labels, int[]? stackArray)
    {
        GroundTruth.CheckShape(mask.Length, height, width, nameof(mask));
        GroundTruth.CheckShape(labels.Length, height, width, nameof(labels));
        if (stackArray is not null && stackArray.Length < mask.Length) throw new ArgumentException("Stack buffer too small.", nameof(stackArray));
        labels.Clear();
        int count = 0;
        for (int start = 0; start < mask.Length; start++)
        {
            if (!mask[start] || labels[start] != 0) continue;
            stackArray ??= new int[mask.Length];
            count++;
            labels[start] = count;
            int top = 0;
            stackArray[top++] = start;
            while (top > 0)
            {
                int p = stackArray[--top];
                int y = p / width, x = p - y * width;
                int y0 = Math.Max(y - 1, 0), y1 = Math.Min(y + 1, height - 1);
                int x0 = Math.Max(x - 1, 0), x1 = Math.Min(x + 1, width - 1);
                for (int yy = y0; yy <= y1; yy++)
                {
                    int row = yy * width;
                    for (int xx = x0; xx <= x1; xx++)
                    {
                        int q = row + xx;
                        if (mask[q] && labels[q] == 0)
                        {
                            labels[q] = count;
                            stackArray[top++] = q; // each pixel is pushed once, so the stack never exceeds the map size
                        }
                    }
                }
            }
        }
        return count;
    }
}
