namespace Microsoft.ML.UFlow.Imaging;

/// <summary>File formats <see cref="ImageDecoder"/> recognises by their signature.</summary>
public enum ImageFormat
{
    /// <summary>Not a recognised image file.</summary>
    Unknown = 0,

    /// <summary>PNG (signature 89 50 4E 47 0D 0A 1A 0A).</summary>
    Png,

    /// <summary>JPEG (signature FF D8 FF), decoded with libjpeg-turbo's TurboJPEG.</summary>
    Jpeg,

    /// <summary>Windows bitmap (signature "BM").</summary>
    Bmp,
}
