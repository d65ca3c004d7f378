using Microsoft.ML.Data;
using SkiaSharp;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// Decodes image files (PNG, JPEG, BMP and the other formats SkiaSharp reads) through ML.NET ImageAnalytics'
/// <see cref="MLImage"/>: into the RGB raster the ground-truth masks and the benchmarks use, or into a SkiaSharp bitmap
/// for drawing. Bad files raise <see cref="ImageDecodeException"/> naming the file.
/// </summary>
public static class ImageDecoder
{
    /// <summary>The pixel size of the image file at <paramref name="path"/>, read from its header (nothing is decoded).</summary>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp can read.</exception>
    public static (int Width, int Height) ReadSize(string path)
    {
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"'{path}' is not an image file that can be read (PNG, JPEG, BMP, ...).");
        return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>Decodes the file at <paramref name="path"/> to 3-channel RGB.</summary>
    /// <exception cref="ImageDecodeException">The file is empty, unreadable, not an image, or too large (<see cref="ImageLimits"/>).</exception>
    public static Image Decode(string path)
    {
        using MLImage image = Open(ReadAll(path), path);
        return FromMLImage(image);
    }

    /// <summary>Decodes <paramref name="bytes"/> to 3-channel RGB; <paramref name="nameForErrors"/> names them in errors.</summary>
    /// <exception cref="ImageDecodeException">The bytes are empty, not an image, or too large.</exception>
    public static Image Decode(ReadOnlySpan<byte> bytes, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(nameForErrors);
        using MLImage image = Open(bytes, nameForErrors);
        return FromMLImage(image);
    }

    /// <summary>
    /// Decodes the file at <paramref name="path"/> to a 32-bit bitmap holding <see cref="MLImage"/>'s pixels as they are
    /// (premultiplied alpha where the file has alpha), the pixels ML.NET's image transforms pass on. The caller disposes it.
    /// </summary>
    /// <exception cref="ImageDecodeException">The file is empty, unreadable, not an image, or too large (<see cref="ImageLimits"/>).</exception>
    public static SKBitmap DecodeToBitmap(string path)
    {
        using MLImage image = Open(ReadAll(path), path);
        var info = new SKImageInfo(image.Width, image.Height, ColorTypeOf(image), SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        try
        {
            image.Pixels.CopyTo(bitmap.GetPixelSpan());
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>The RGB raster of an <see cref="MLImage"/> (Bgra32 or Rgba32; alpha dropped).</summary>
    public static Image FromMLImage(MLImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        bool bgra = ColorTypeOf(image) == SKColorType.Bgra8888;
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

    private static byte[] ReadAll(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(path, e.Message, e);
        }
    }

    private static MLImage Open(ReadOnlySpan<byte> bytes, string nameForErrors)
    {
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
        (int width, int height) = (image.Width, image.Height);
        if (width > ImageLimits.MaxSide || height > ImageLimits.MaxSide || (long)width * height > ImageLimits.MaxPixels)
        {
            image.Dispose();
            throw new ImageDecodeException(nameForErrors, $"{width}x{height} is larger than this library accepts ({ImageLimits.MaxSide} per side, {ImageLimits.MaxPixels} pixels).");
        }
        return image;
    }

    private static SKColorType ColorTypeOf(MLImage image) => image.PixelFormat switch
    {
        MLPixelFormat.Bgra32 => SKColorType.Bgra8888,
        MLPixelFormat.Rgba32 => SKColorType.Rgba8888,
        _ => throw new ArgumentException($"Unsupported pixel format {image.PixelFormat}.", nameof(image)),
    };
}
