namespace Microsoft.ML.UFlow.Imaging;

/// <summary>Size limits every decoder enforces before allocating, so corrupt headers cannot exhaust memory.</summary>
public static class ImageLimits
{
    /// <summary>Largest accepted width or height: 2^15 = 32768 pixels.</summary>
    public const int MaxSide = 1 << 15;

    /// <summary>Largest accepted pixel count: 2^26 (for example 8192 × 8192).</summary>
    public const long MaxPixels = 1L << 26;

    /// <summary>Throws <see cref="ImageDecodeException"/> when the size is outside the limits.</summary>
    internal static void Check(string name, long width, long height)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ImageDecodeException(name, $"invalid image size {width}x{height}.");
        }
        if (width > MaxSide || height > MaxSide || width * height > MaxPixels)
        {
            throw new ImageDecodeException(name, $"image size {width}x{height} exceeds the limits ({MaxSide} per side, {MaxPixels} pixels).");
        }
    }
}
