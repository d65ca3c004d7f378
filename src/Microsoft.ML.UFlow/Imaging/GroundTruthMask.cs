using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// A ground-truth mask as the metrics see it (METHOD.md Part B): grey, resized like the image to the input size (PIL
/// bilinear), scaled to [0, 1], resized bilinearly (align_corners = false, no antialias) to the evaluation size, then
/// binarised at &gt; 0.5.
/// </summary>
internal static class GroundTruthMask
{
    /// <summary>Writes the binary (0/1) mask of <paramref name="mask"/> at <paramref name="evaluationSize"/>² into <paramref name="destination"/>.</summary>
    public static void Prepare(Image mask, int inputSize, int evaluationSize, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (destination.Length != evaluationSize * evaluationSize)
        {
            throw new ArgumentException($"The destination holds {destination.Length} values, not {evaluationSize}².", nameof(destination));
        }
        if (mask.Channels != 1) mask = mask.ToGrey();
        mask = ImageResize.Bilinear(mask, inputSize, inputSize);
        var values = new float[inputSize * inputSize];
        for (int i = 0; i < values.Length; i++) values[i] = mask.Pixels[i] / 255f;
        if (inputSize == evaluationSize) values.CopyTo(destination);
        else BilinearResize.Forward(values, inputSize, inputSize, destination, evaluationSize, evaluationSize);
        for (int i = 0; i < destination.Length; i++) destination[i] = destination[i] > 0.5f ? 1f : 0f;
    }
}
