namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// mIoU as U-Flow defines it: the plain mean of the per-image <see cref="IntersectionOverUnion"/> over all images,
/// normal images included (an empty prediction on a normal image scores 1, any false-positive pixel ≈ 0).
/// Keeps only a running sum.
/// </summary>
public sealed class MeanIouAccumulator
{
    private double _sum;

    /// <summary>Images added.</summary>
    public int Count { get; private set; }

    /// <summary>Adds one image given its predicted mask and ground-truth mask (anomalous where &gt; 0.5).</summary>
    /// <returns>The image's IoU.</returns>
    public double Add(ReadOnlySpan<bool> predicted, ReadOnlySpan<float> groundTruth) => AddIou(IntersectionOverUnion.Compute(predicted, groundTruth));

    /// <summary>Adds one image whose prediction is score &gt; <paramref name="threshold"/> (e.g. −log10 NFA &gt; 0 for U-Flow).</summary>
    /// <returns>The image's IoU.</returns>
    public double Add(ReadOnlySpan<float> scores, double threshold, ReadOnlySpan<float> groundTruth) =>
        AddIou(IntersectionOverUnion.Compute(scores, threshold, groundTruth));

    /// <summary>Adds an IoU computed elsewhere.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [0, 1].</exception>
    public double AddIou(double iou)
    {
        if (!(iou >= 0 && iou <= 1)) throw new ArgumentOutOfRangeException(nameof(iou), iou, "An IoU lies in [0, 1].");
        _sum += iou;
        Count++;
        return iou;
    }

    /// <summary>The mean IoU, or NaN when nothing was added.</summary>
    public double Mean => Count == 0 ? double.NaN : _sum / Count;
}
