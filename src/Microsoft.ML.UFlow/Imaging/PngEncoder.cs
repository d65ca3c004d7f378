using Microsoft.ML.Data;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>Writes images as PNG files through ML.NET ImageAnalytics' <see cref="MLImage"/> (SkiaSharp's encoder).</summary>
public static class PngEncoder
{
    /// <summary>Writes <paramref name="image"/> (1 or 3 channels) to <paramref name="path"/> as PNG, atomically (a temporary file renamed).</summary>
    public static void Save(Image image, string path)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var rgba = new byte[image.Width * image.Height * 4];
        byte[] pixels = image.Pixels;
        for (int p = 0; p < image.Width * image.Height; p++)
        {
            int s = p * image.Channels;
            rgba[4 * p] = pixels[s];
            rgba[4 * p + 1] = pixels[image.Channels == 3 ? s + 1 : s];
            rgba[4 * p + 2] = pixels[image.Channels == 3 ? s + 2 : s];
            rgba[4 * p + 3] = 255;
        }
        using var encoded = MLImage.CreateFromPixels(image.Width, image.Height, MLPixelFormat.Rgba32, rgba);
        // MLImage.Save picks the encoder from the extension: the temporary name keeps ".png".
        string temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileNameWithoutExtension(path)}.{Guid.NewGuid():N}.png");
        try
        {
            encoded.Save(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
