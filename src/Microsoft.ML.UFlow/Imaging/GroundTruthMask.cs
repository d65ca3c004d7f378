using Microsoft.ML.UFlow.Tensors;

namespace Microsoft.ML.UFlow.Imaging;

/// <summary>
/// A ground-truth mask as the metrics see it (METHOD.md Part B): grey, resized like the image to the input size (PIL
/// bilinear), scaled to [0, 1], resized bilinearly (align_corners = false, no antialias) to the evaluation size, then
/// binarised at &gt; 0.5. A rectangular input keeps its aspect on the map grid (<see cref="Scoring.MapGrid"/>). Public so
/// that a picture of a result (a contour drawn with <see cref="MaskContour"/>) shows the defect exactly as the evaluators
/// counted it.
/// </summary>
public static class GroundTruthMask
{
    /// <summary>Writes the binary (0/1) mask of <paramref name="mask"/> at <paramref name="evaluationSize"/>² into <paramref name="destination"/>.</summary>
    /// <param name="mask">The decoded mask image (<see cref="ImageDecoder.Decode(string)"/>); colour masks are made grey.</param>
    /// <param name="inputSize">The model's square input side, to which the image was resized.</param>
    /// <param name="evaluationSize">The side of the anomaly map the mask is compared with.</param>
    /// <param name="destination">Row-major, <paramref name="evaluationSize"/>² values; receives 0 (normal) or 1 (defect).</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> does not hold <paramref name="evaluationSize"/>² values.</exception>
    public static void Prepare(Image mask, int inputSize, int evaluationSize, Span<float> destination)
        => Prepare(mask, inputSize, inputSize, evaluationSize, evaluationSize, destination);

    /// <summary>
    /// Writes the binary (0/1) mask of <paramref name="mask"/>, resized like the image to
    /// <paramref name="inputWidth"/>×<paramref name="inputHeight"/>, at the map grid
    /// <paramref name="mapHeight"/>×<paramref name="mapWidth"/> (row-major) into <paramref name="destination"/>.
    /// </summary>
    public static void Prepare(Image mask, int inputWidth, int inputHeight, int mapHeight, int mapWidth, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (destination.Length != mapHeight * mapWidth)
        {
            throw new ArgumentException($"The destination holds {destination.Length} values, not {mapHeight}x{mapWidth}.", nameof(destination));
        }
        if (mask.Channels != 1) mask = mask.ToGrey();
        mask = ImageResize.Bilinear(mask, inputWidth, inputHeight);
        var values = new float[inputWidth * inputHeight];
        for (int i = 0; i < values.Length; i++) values[i] = mask.Pixels[i] / 255f;
        if (inputHeight == mapHeight && inputWidth == mapWidth) values.CopyTo(destination);
        else BilinearResize.Forward(values, inputHeight, inputWidth, destination, mapHeight, mapWidth);
        for (int i = 0; i < destination.Length; i++) destination[i] = destination[i] > 0.5f ? 1f : 0f;
    }
}
