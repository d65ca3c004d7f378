using SkiaSharp;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>Draws an anomaly map as a colour heat map over an image, with SkiaSharp.</summary>
public static class HeatMapOverlay
{
    /// <summary>
    /// Draws <paramref name="map"/> (W×H values, row-major) coloured with <paramref name="colorMap"/> (jet by default)
    /// into <paramref name="destination"/> on <paramref name="canvas"/>, over what the canvas already shows, with opacity
    /// <paramref name="alpha"/>. As matplotlib does, a value v takes entry min(255, floor(256·t)) with
    /// t = (v − min)/(max − min) clipped to [0, 1], NaN entry 0; without min or max the map's own finite range is used.
    /// A map of another size than the destination is sampled bilinearly on those entries (pixel centres, edges clamped,
    /// as PyTorch's align_corners=False) before the colour lookup, so every pixel has the colour of an interpolated value,
    /// never a blend of two colours.
    /// </summary>
    /// <exception cref="ArgumentException">The map does not hold W×H values.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A map side is not positive or <paramref name="alpha"/> is outside [0, 1].</exception>
    public static void Draw(SKCanvas canvas, SKRect destination, ReadOnlySpan<float> map, int mapWidth, int mapHeight,
        float alpha = 0.5f, float? min = null, float? max = null, ColorMap? colorMap = null)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mapWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mapHeight);
        if (map.Length != (long)mapWidth * mapHeight) throw new ArgumentException($"Map has {map.Length} values; {mapWidth}x{mapHeight} needs {(long)mapWidth * mapHeight}.", nameof(map));
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Alpha must be in [0, 1].");
        using SKBitmap entries = Entries(map, mapWidth, mapHeight, min, max);
        using SKImage image = SKImage.FromBitmap(entries);
        using SKColorFilter lookup = (colorMap ?? ColorMap.Jet).CreateColorFilter();
        using var paint = new SKPaint { ColorFilter = lookup, Color = SKColors.White.WithAlpha((byte)MathF.Round(alpha * 255)) };
        canvas.DrawImage(image, destination, new SKSamplingOptions(SKFilterMode.Linear), paint);
    }

    /// <summary>The colour-map entry of every value, as an 8-bit grey bitmap.</summary>
    private static SKBitmap Entries(ReadOnlySpan<float> map, int width, int height, float? min, float? max)
    {
        float lo = min ?? float.PositiveInfinity, hi = max ?? float.NegativeInfinity;
        if (min is null || max is null)
        {
            foreach (float v in map)
            {
                if (!float.IsFinite(v)) continue;
                if (min is null && v < lo) lo = v;
                if (max is null && v > hi) hi = v;
            }
            if (!float.IsFinite(lo)) lo = 0;
            if (!float.IsFinite(hi)) hi = lo;
        }
        double range = hi - lo;
        double scale = range > 0 ? 256.0 / range : 0;
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        Span<byte> pixels = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                double t = (map[y * width + x] - lo) * scale;
                pixels[y * rowBytes + x] = double.IsNaN(t) || t <= 0 ? (byte)0 : t >= 255 ? (byte)255 : (byte)t;
            }
        }
        return bitmap;
    }
}
