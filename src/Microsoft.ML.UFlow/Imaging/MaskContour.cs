using SkiaSharp;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>Draws the outline of a binary mask (ground truth or predicted segmentation) with SkiaSharp.</summary>
public static class MaskContour
{
    /// <summary>
    /// Draws the contour of <paramref name="mask"/> (W×H, row-major, true = foreground) on <paramref name="canvas"/> in
    /// <paramref name="color"/>, one canvas unit per mask pixel from the origin. The contour is the foreground pixels
    /// within Chebyshev distance <paramref name="thickness"/> of a background pixel (outside the mask counts as
    /// background), so the line lies just inside the region: the region's outline (an <see cref="SKRegion"/>'s
    /// boundary path) stroked 2·thickness wide with mitred corners, clipped to the region, without antialiasing.
    /// </summary>
    /// <exception cref="ArgumentException">The mask does not hold W×H values.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A side or the thickness is not positive.</exception>
    public static void Draw(SKCanvas canvas, ReadOnlySpan<bool> mask, int width, int height, SKColor color, int thickness = 1)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(thickness);
        if (mask.Length != (long)width * height) throw new ArgumentException($"Mask has {mask.Length} values; {width}x{height} needs {(long)width * height}.", nameof(mask));
        // The foreground as one rectangle per run of a row; the region merges them and gives their common outline.
        using var runs = new SKPath();
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<bool> row = mask.Slice(y * width, width);
            for (int x = 0; x < width;)
            {
                if (!row[x]) { x++; continue; }
                int start = x;
                while (x < width && row[x]) x++;
                runs.AddRect(new SKRect(start, y, x, y + 1));
            }
        }
        using var bounds = new SKRegion(new SKRectI(0, 0, width, height));
        using var region = new SKRegion();
        if (!region.SetPath(runs, bounds)) return; // no foreground
        using SKPath outline = region.GetBoundaryPath();
        using var paint = new SKPaint
        {
            Color = color, Style = SKPaintStyle.Stroke, StrokeWidth = 2 * thickness, StrokeJoin = SKStrokeJoin.Miter, IsAntialias = false,
        };
        using var restore = new SKAutoCanvasRestore(canvas);
        canvas.ClipPath(outline, SKClipOperation.Intersect, antialias: false);
        canvas.DrawPath(outline, paint);
    }
}
