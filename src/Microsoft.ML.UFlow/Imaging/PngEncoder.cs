using Microsoft.ML.UFlow.Data;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>Writes bitmaps as PNG files with SkiaSharp's encoder.</summary>
public static class PngEncoder
{
    /// <summary>
    /// Writes <paramref name="bitmap"/> to <paramref name="path"/> as PNG, atomically (<see cref="AtomicFile"/>). An
    /// opaque bitmap gives an RGB file, a <see cref="SKColorType.Gray8"/> one a grey file.
    /// </summary>
    /// <exception cref="InvalidOperationException">SkiaSharp cannot encode the bitmap.</exception>
    public static void Save(SKBitmap bitmap, string path)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using SKPixmap pixmap = bitmap.PeekPixels()
            ?? throw new ArgumentException($"The {bitmap.Width}x{bitmap.Height} bitmap for '{path}' has no pixels in memory.", nameof(bitmap));
        using SKData png = pixmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode the {bitmap.Width}x{bitmap.Height} {bitmap.ColorType} bitmap as PNG for '{path}'.");
        AtomicFile.Write(path, png.SaveTo);
    }
}
