using System.Globalization;

namespace Microsoft.ML.UFlow.Cli;

/// <summary>
/// Says when images have another aspect than the model's input W×H: they are stretched to it (ML.NET's
/// <c>ResizeImages</c>, Fill), which changes the shape of their defects. Read from the files' headers only; files that cannot be read are left to scoring, which names them.
/// </summary>
internal static class AspectWarning
{
    /// <summary>
    /// Aspects within this relative difference count as the same: sides that are multiples of the stride cannot hold
    /// every aspect (the default keeps it within a few per cent; a given --input-size may be further off), and a
    /// stretch of a few per cent changes defects little.
    /// </summary>
    public const double Tolerance = 0.10;

    /// <summary>The warning for <paramref name="imagePaths"/> against a model of <paramref name="inputWidth"/>×<paramref name="inputHeight"/>, or null when all match.</summary>
    public static string? For(IReadOnlyList<string> imagePaths, int inputWidth, int inputHeight)
    {
        double model = (double)inputWidth / inputHeight;
        int other = 0;
        string? example = null;
        foreach (string path in imagePaths)
        {
            int w, h;
            try
            {
                (w, h) = Imaging.ImageDecoder.ReadSize(path);
            }
            catch (InvalidDataException)
            {
                continue; // missing or unreadable: scoring names the file
            }
            double aspect = (double)w / h;
            if (Math.Abs(Math.Log(aspect / model)) <= Math.Log(1 + Tolerance)) continue;
            other++;
            example ??= string.Create(CultureInfo.InvariantCulture, $"'{path}' is {w}x{h} (aspect {aspect:0.###})");
        }
        if (other == 0) return null;
        return string.Create(CultureInfo.InvariantCulture,
            $"warning: {other} of {imagePaths.Count} images have another aspect than the model's input {inputWidth}x{inputHeight} (W×H, aspect {model:0.###}); " +
            $"they are stretched to it, which changes the shape of their defects. For example {example}. Train a model on images of their aspect (uflow train picks it from the training images, or --input-size WxH).");
    }
}
