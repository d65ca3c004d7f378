namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// How a set of predicted masks compares with their ground truth, pooled over the images: precision |P ∩ G| / |P|,
/// recall |P ∩ G| / |G|, the mean per-image IoU (<see cref="IntersectionOverUnion"/>) and the number of images with any
/// predicted pixel. A diagnostic of the mIoU: low recall means the detected regions are too small (or missing), low
/// precision too large. Keeps only running counts.
/// </summary>
public sealed class SegmentationOverlap
{
    private long _predicted, _truth, _intersection;
    private double _iouSum;

    /// <summary>Images added.</summary>
    public int Count { get; private set; }

    /// <summary>Images with at least one predicted pixel.</summary>
    public int ImagesWithDetection { get; private set; }

    /// <summary>Adds one image: its predicted mask and ground-truth mask (anomalous where &gt; 0.5).</summary>
    /// <exception cref="ArgumentException">Lengths differ.</exception>
    public void Add(ReadOnlySpan<bool> predicted, ReadOnlySpan<float> groundTruth)
    {
        GroundTruth.CheckSameLength(predicted.Length, groundTruth.Length, nameof(groundTruth));
        long p = 0, g = 0, both = 0;
        for (int i = 0; i < predicted.Length; i++)
        {
            bool isPredicted = predicted[i], isTruth = groundTruth[i] > GroundTruth.Threshold;
            if (isPredicted) p++;
            if (isTruth) g++;
            if (isPredicted & isTruth) both++;
        }
        _predicted += p;
        _truth += g;
        _intersection += both;
        _iouSum += IntersectionOverUnion.FromCounts(both, p + g - both);
        if (p > 0) ImagesWithDetection++;
        Count++;
    }

    /// <summary>Pooled |P ∩ G| / |P| (NaN when nothing was predicted).</summary>
    public double Precision => _predicted == 0 ? double.NaN : (double)_intersection / _predicted;

    /// <summary>Pooled |P ∩ G| / |G| (NaN without ground-truth pixels).</summary>
    public double Recall => _truth == 0 ? double.NaN : (double)_intersection / _truth;

    /// <summary>Mean per-image IoU (NaN when none was added).</summary>
    public double MeanIou => Count == 0 ? double.NaN : _iouSum / Count;
}
