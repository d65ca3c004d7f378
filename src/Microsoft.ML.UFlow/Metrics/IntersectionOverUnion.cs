namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// U-Flow's per-image IoU (<c>uflow:src/miou.py</c>): (|P ∩ G| + ε) / (|P ∪ G| + ε) with ε = 2.22e-16, so an image
/// with an empty prediction and an empty ground truth scores 1.
/// </summary>
public static class IntersectionOverUnion
{
    /// <summary>ε = float64 machine epsilon (2.220446049250313e-16), as <c>np.finfo(float).eps</c>.</summary>
    public const double Epsilon = 2.220446049250313e-16;

    /// <summary>IoU from counts.</summary>
    public static double FromCounts(long intersection, long union) => (intersection + Epsilon) / (union + Epsilon);

    /// <summary>IoU of a predicted mask and a ground-truth mask (anomalous where &gt; 0.5).</summary>
    /// <exception cref="ArgumentException">Lengths differ.</exception>
    public static double Compute(ReadOnlySpan<bool> predicted, ReadOnlySpan<float> groundTruth)
    {
        GroundTruth.CheckSameLength(predicted.Length, groundTruth.Length, nameof(groundTruth));
        long intersection = 0, union = 0;
        for (int i = 0; i < predicted.Length; i++)
        {
            bool p = predicted[i], g = groundTruth[i] > GroundTruth.Threshold;
            if (p & g) intersection++;
            if (p | g) union++;
        }
        return FromCounts(intersection, union);
    }

    /// <summary>IoU of the prediction (score &gt; <paramref name="threshold"/>) and a ground-truth mask (anomalous where &gt; 0.5).</summary>
    /// <exception cref="ArgumentException">Lengths differ.</exception>
    public static double Compute(ReadOnlySpan<float> scores, double threshold, ReadOnlySpan<float> groundTruth)
    {
        GroundTruth.CheckSameLength(scores.Length, groundTruth.Length, nameof(groundTruth));
        long intersection = 0, union = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            bool p = scores[i] > threshold, g = groundTruth[i] > GroundTruth.Threshold;
            if (p & g) intersection++;
            if (p | g) union++;
        }
        return FromCounts(intersection, union);
    }
}
