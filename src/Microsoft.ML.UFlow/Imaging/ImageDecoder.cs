using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// Decodes image files (PNG, JPEG, BMP and the other formats SkiaSharp reads) through ML.NET ImageAnalytics'
/// <see cref="MLImage"/>, into the RGB raster the report and the ground-truth masks use. Bad files raise
/// <see cref="ImageDecodeException"/> naming the file.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Decodes the file at <paramref name="path"/> to 3-channel RGB.</summary>
    /// <exception cref="ImageDecodeException">The file is empty, unreadable, not an image, or too large (<see cref="ImageLimits"/>).</exception>
    public static Image Decode(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(path, e.Message, e);
        }
        return Decode(bytes, path);
    }

    /// <summary>Decodes <paramref name="bytes"/> to 3-channel RGB; <paramref name="nameForErrors"/> names them in errors.</summary>
    /// <exception cref="ImageDecodeException">The bytes are empty, not an image, or too large.</exception>
    public static Image Decode(ReadOnlySpan<byte> bytes, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(nameForErrors);
        if (bytes.IsEmpty) throw new ImageDecodeException(nameForErrors, "the file is empty.");
        MLImage image;
        try
        {
            image = MLImage.CreateFromStream(new MemoryStream(bytes.ToArray(), writable: false));
        }
        catch (ArgumentException e)
        {
            throw new ImageDecodeException(nameForErrors, "not a readable image (" + e.Message + ").", e);
        }
        using (image)
        {
            if (image.Width > ImageLimits.MaxSide || image.Height > ImageLimits.MaxSide || (long)image.Width * image.Height > ImageLimits.MaxPixels)
                throw new ImageDecodeException(nameForErrors, $"{image.Width}x{image.Height} is larger than this library accepts ({ImageLimits.MaxSide} per side, {ImageLimits.MaxPixels} pixels).");
            return FromMLImage(image);
        }
    }

    /// <summary>The RGB raster of an <see cref="MLImage"/> (Bgra32 or Rgba32; alpha dropped).</summary>
    public static Image FromMLImage(MLImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        bool bgra = image.PixelFormat == MLPixelFormat.Bgra32;
        if (!bgra && image.PixelFormat != MLPixelFormat.Rgba32)
            throw new ArgumentException($"Unsupported pixel format {image.PixelFormat}.", nameof(image));
        ReadOnlySpan<byte> source = image.Pixels;
        var result = new Image(image.Width, image.Height, 3);
        byte[] rgb = result.Pixels;
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = source[bgra ? i + 2 : i];
            rgb[j + 1] = source[i + 1];
            rgb[j + 2] = source[bgra ? i : i + 2];
        }
        return result;
    }
}
