using Microsoft.ML.UFlow.Imaging.Bmp;
using Microsoft.ML.UFlow.Imaging.Jpeg;
using Microsoft.ML.UFlow.Imaging.Png;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// Decodes PNG, JPEG and BMP files to 8-bit <see cref="Image"/>s with the pixel values PIL (Pillow 9.4) produces,
/// choosing the format by the file's signature, not its extension.
/// </summary>
/// <remarks>
/// Channels follow the file: PNG grey → 1, grey+alpha → 2, RGB → 3, RGBA → 4, palette → 3 (4 with a tRNS chunk);
/// JPEG grey → 1, colour → 3; BMP → 3 (4 with an alpha mask), or 1 for 1/4/8-bit files whose palette is the identity
/// grey ramp. Use <see cref="Image.ToRgb"/> for the 3-channel input of the feature extractors.
/// Any corrupt, truncated, oversized (<see cref="ImageLimits"/>) or unsupported file raises
/// <see cref="ImageDecodeException"/> naming the file; no other exception escapes for bad data.
/// </remarks>
public static class ImageDecoder
{
    /// <summary>Recognises the format from the first bytes of a file.</summary>
    public static ImageFormat DetectFormat(ReadOnlySpan<byte> header)
    {
        if (PngDecoder.HasSignature(header)) return ImageFormat.Png;
        if (header.Length >= 3 && header[0] == 0xFF && header[1] == 0xD8 && header[2] == 0xFF) return ImageFormat.Jpeg;
        if (header.Length >= 2 && header[0] == (byte)'B' && header[1] == (byte)'M') return ImageFormat.Bmp;
        return ImageFormat.Unknown;
    }

    /// <summary>Reads and decodes an image file.</summary>
    /// <exception cref="ImageDecodeException">The file is corrupt, truncated, too large or not a supported image.</exception>
    /// <exception cref="IOException">The file cannot be read (missing, no permission, ...).</exception>
    /// <exception cref="DllNotFoundException">A JPEG was given and libturbojpeg.so.0 is not installed (see build/install-native.sh).</exception>
    public static Image Decode(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = File.ReadAllBytes(path);
        return Decode(bytes, path);
    }

    /// <summary>Decodes an image held in memory; <paramref name="nameForErrors"/> is used in exception messages.</summary>
    /// <exception cref="ImageDecodeException">The data is corrupt, truncated, too large or not a supported image.</exception>
    /// <exception cref="DllNotFoundException">A JPEG was given and libturbojpeg.so.0 is not installed (see build/install-native.sh).</exception>
    public static Image Decode(ReadOnlySpan<byte> bytes, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(nameForErrors);
        return DetectFormat(bytes) switch
        {
            ImageFormat.Png => PngDecoder.Decode(bytes, nameForErrors),
            ImageFormat.Jpeg => JpegDecoder.Decode(bytes, nameForErrors),
            ImageFormat.Bmp => BmpDecoder.Decode(bytes, nameForErrors),
            _ => throw new ImageDecodeException(nameForErrors, bytes.Length == 0 ? "the file is empty." : "not a PNG, JPEG or BMP file (unrecognised signature)."),
        };
    }
}
