namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// Thrown when an image file is corrupt, truncated, too large or of an unsupported kind. The message starts with
/// the file name and <see cref="FileName"/> carries it. (It derives from <see cref="IOException"/> because
/// <see cref="InvalidDataException"/> is sealed.)
/// </summary>
public sealed class ImageDecodeException : IOException
{
    /// <summary>Creates the exception for <paramref name="fileName"/> with a reason.</summary>
    public ImageDecodeException(string fileName, string reason, Exception? innerException = null)
        : base($"{fileName}: {reason}", innerException)
    {
        FileName = fileName;
        Reason = reason;
    }

    /// <summary>The file (or the name given for an in-memory buffer) that could not be decoded.</summary>
    public string FileName { get; }

    /// <summary>Why decoding failed, without the file name.</summary>
    public string Reason { get; }
}
