namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// Accumulates one (score, label) pair per image and computes the image-level metrics: AUROC (ties ½, as sklearn's
/// <c>roc_auc_score</c>) and the detection rate at K false positives (as ML.NET's anomaly-detection evaluator reports).
/// Keeps 9 bytes per image.
/// </summary>
public sealed class ImageScoreEvaluator
{
    private readonly List<double> _scores = [];
    private readonly List<bool> _labels = [];

    /// <summary>Number of images added.</summary>
    public int Count => _scores.Count;

    /// <summary>Number of anomalous images added.</summary>
    public int AnomalousCount { get; private set; }

    /// <summary>Adds the score of one image (higher = more anomalous; U-Flow uses the max of the anomaly map).</summary>
    /// <exception cref="ArgumentException">The score is NaN.</exception>
    public void Add(double score, bool isAnomalous)
    {
        if (double.IsNaN(score)) throw new ArgumentException($"Image score #{_scores.Count} is NaN.", nameof(score));
        _scores.Add(score);
        _labels.Add(isAnomalous);
        if (isAnomalous) AnomalousCount++;
    }

    /// <summary>Image AUROC, or NaN when only one class has been seen.</summary>
    public double ComputeAuroc() =>
        RocAuc.Compute(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_scores), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_labels));

    /// <summary>
    /// Detection rate at K false positives: walking the images by descending score, the fraction of all anomalous
    /// images that are ranked above the point where more than <paramref name="falsePositiveCount"/> normal images
    /// would have been flagged. Images with equal scores are taken together: a group of ties is counted only if all
    /// of its normal images still fit within K false positives (so the result does not depend on the order of ties).
    /// </summary>
    /// <returns>The rate in [0, 1], or NaN when no anomalous image was added.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="falsePositiveCount"/> is negative.</exception>
    public double DetectionRateAtFalsePositiveCount(int falsePositiveCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(falsePositiveCount);
        if (AnomalousCount == 0) return double.NaN;
        var keys = _scores.ToArray();
        var items = _labels.ToArray();
        Array.Sort(keys, items);
        long detected = 0, falsePositives = 0;
        int end = keys.Length;
        while (end > 0)
        {
            int start = end - 1;
            while (start > 0 && keys[start - 1] == keys[end - 1]) start--;
            long pos = 0;
            for (int i = start; i < end; i++) if (items[i]) pos++;
            long neg = end - start - pos;
            if (falsePositives + neg > falsePositiveCount) break;
            falsePositives += neg;
            detected += pos;
            end = start;
        }
        return (double)detected / AnomalousCount;
    }

    /// <summary>Computes both metrics.</summary>
    /// <param name="falsePositiveCount">K for <see cref="ImageMetrics.DetectionRateAtFalsePositiveCount"/> (ML.NET's default is 10).</param>
    public ImageMetrics Compute(int falsePositiveCount = 10) =>
        new(ComputeAuroc(), DetectionRateAtFalsePositiveCount(falsePositiveCount), falsePositiveCount, Count, AnomalousCount);
}
