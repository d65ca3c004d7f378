using Microsoft.ML.UFlow.Metrics;

namespace Microsoft.ML.UFlow.Cli.Bench.Quality;

/// <summary>
/// How the automatic-threshold segmentation of the defective test images compares with their ground truth, pooled over
/// the images: precision |P ∩ G| / |P|, recall |P ∩ G| / |G| and the mean IoU of the defective images alone. A
/// diagnostic of the mIoU: low recall means the detected regions are too small (or missing), low precision too large.
/// </summary>
internal sealed class SegmentationExtent
{
    private long _predicted, _truth, _intersection;
    private double _iouSum;
    private int _count;

    /// <summary>Adds one defective image: its predicted mask and ground-truth mask (anomalous where &gt; 0.5).</summary>
    public void Add(ReadOnlySpan<bool> predicted, ReadOnlySpan<float> groundTruth)
    {
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
        _count++;
    }

    /// <summary>Pooled |P ∩ G| / |P| (NaN when nothing was predicted).</summary>
    public double Precision => _predicted == 0 ? double.NaN : (double)_intersection / _predicted;

    /// <summary>Pooled |P ∩ G| / |G| (NaN without ground-truth pixels).</summary>
    public double Recall => _truth == 0 ? double.NaN : (double)_intersection / _truth;

    /// <summary>Mean IoU over the defective images alone (NaN when none was added).</summary>
    public double MeanIou => _count == 0 ? double.NaN : _iouSum / _count;
}
