namespace Microsoft.ML.UFlow.Imaging.Jpeg;

/// <summary>
/// JPEG decoding through libjpeg-turbo (the library PIL itself uses): grey files give 1 channel, colour (YCbCr or
/// RGB) files give RGB. Decoding is strict: libjpeg warnings (corrupt or truncated entropy data) are errors, as PIL
/// raises on truncated files. CMYK/YCCK files are not supported.
/// </summary>
internal static class JpegDecoder
{
    /// <summary>An upper bound on pixels per byte of JPEG data (a progressive DC scan spends at least one bit per 8×8 block).</summary>
    private const long MaxPixelsPerByte = 1024;

    public static Image Decode(ReadOnlySpan<byte> data, string name)
    {
        using TurboJpegHandle handle = TurboJpegNative.CreateDecompressor();
        if (TurboJpegNative.DecompressHeader(handle, data, out int width, out int height, out int colorspace) != 0)
        {
            throw new ImageDecodeException(name, "invalid JPEG header: " + TurboJpegNative.LastError(handle));
        }
        ImageLimits.Check(name, width, height);
        if ((long)width * height > MaxPixelsPerByte * data.Length + (1 << 20))
        {
            throw new ImageDecodeException(name, $"JPEG data ({data.Length} bytes) is far too small for a {width}x{height} image; the file is truncated or corrupt.");
        }
        int format;
        int channels;
        switch (colorspace)
        {
            case TurboJpegNative.ColorspaceGray:
                format = TurboJpegNative.PixelFormatGray;
                channels = 1;
                break;
            case TurboJpegNative.ColorspaceRgb:
            case TurboJpegNative.ColorspaceYCbCr:
                format = TurboJpegNative.PixelFormatRgb;
                channels = 3;
                break;
            default:
                throw new ImageDecodeException(name, colorspace is TurboJpegNative.ColorspaceCmyk or TurboJpegNative.ColorspaceYcck
                    ? "CMYK/YCCK JPEG files are not supported." : $"unknown JPEG colour space {colorspace}.");
        }
        var image = new Image(width, height, channels);
        int rc = TurboJpegNative.Decompress(handle, data, image.Pixels, width, height, format,
            TurboJpegNative.FlagStopOnWarning | TurboJpegNative.FlagLimitScans);
        if (rc != 0)
        {
            throw new ImageDecodeException(name, "corrupt or truncated JPEG data: " + TurboJpegNative.LastError(handle));
        }
        return image;
    }
}
