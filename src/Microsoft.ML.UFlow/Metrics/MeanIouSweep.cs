namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// mIoU at many thresholds at once, for the "oracle" threshold (the best test mIoU, U-Flow's <c>eval_miou</c>). Each
/// image is reduced to two histograms over the threshold grid (all predicted pixels and predicted ∩ ground truth),
/// from which |P ∩ G| and |P ∪ G| follow for every threshold; only one running IoU sum per threshold is kept.
/// </summary>
public sealed class MeanIouSweep
{
    private readonly double[] _thresholds;
    private readonly double[] _iouSums;
    private readonly long[] _all;
    private readonly long[] _hits;

    /// <summary>Creates a sweep over strictly increasing, finite thresholds; the prediction at t is score &gt; t.</summary>
    /// <exception cref="ArgumentException">The thresholds are empty, not finite or not strictly increasing.</exception>
    public MeanIouSweep(IEnumerable<double> thresholds)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        _thresholds = thresholds.ToArray();
        if (_thresholds.Length == 0) throw new ArgumentException("At least one threshold is needed.", nameof(thresholds));
        for (int i = 0; i < _thresholds.Length; i++)
        {
            if (!double.IsFinite(_thresholds[i])) throw new ArgumentException($"Threshold #{i} is {_thresholds[i]}.", nameof(thresholds));
            if (i > 0 && !(_thresholds[i] > _thresholds[i - 1])) throw new ArgumentException($"Thresholds must increase strictly (#{i - 1} = {_thresholds[i - 1]}, #{i} = {_thresholds[i]}).", nameof(thresholds));
        }
        _iouSums = new double[_thresholds.Length];
        _all = new long[_thresholds.Length + 1];
        _hits = new long[_thresholds.Length + 1];
    }

    /// <summary>
    /// U-Flow's oracle grid on −log10 NFA: −400, −399, …, 1000 (1401 thresholds). Threshold 0 is the automatic one
    /// (log10 NFA &lt; 0).
    /// </summary>
    public static MeanIouSweep ForNegativeLogNfa() => new(Enumerable.Range(-400, 1401).Select(t => (double)t));

    /// <summary>The thresholds, ascending.</summary>
    public IReadOnlyList<double> Thresholds => _thresholds;

    /// <summary>Images added.</summary>
    public int Count { get; private set; }

    /// <summary>Adds one image: score map and ground-truth mask (anomalous where &gt; 0.5) of the same length.</summary>
    /// <exception cref="ArgumentException">Lengths differ or a score is NaN.</exception>
    public void Add(ReadOnlySpan<float> scores, ReadOnlySpan<float> groundTruth)
    {
        GroundTruth.CheckSameLength(scores.Length, groundTruth.Length, nameof(groundTruth));
        ScoreKey.ThrowIfNaN(scores, nameof(scores));
        Array.Clear(_all);
        Array.Clear(_hits);
        long gt = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            int bin = CountBelow(scores[i]); // predicted at thresholds 0..bin-1
            _all[bin]++;
            if (groundTruth[i] > GroundTruth.Threshold)
            {
                _hits[bin]++;
                gt++;
            }
        }
        long predicted = 0, intersection = 0;
        for (int j = _thresholds.Length - 1; j >= 0; j--)
        {
            predicted += _all[j + 1];
            intersection += _hits[j + 1];
            _iouSums[j] += IntersectionOverUnion.FromCounts(intersection, predicted + gt - intersection);
        }
        Count++;
    }

    /// <summary>mIoU at every threshold (same order as <see cref="Thresholds"/>); NaN when nothing was added.</summary>
    public double[] MeanIous()
    {
        var result = new double[_thresholds.Length];
        for (int j = 0; j < result.Length; j++) result[j] = Count == 0 ? double.NaN : _iouSums[j] / Count;
        return result;
    }

    /// <summary>mIoU at one of the grid's thresholds.</summary>
    /// <exception cref="ArgumentException">The threshold is not on the grid.</exception>
    public double MeanIouAt(double threshold)
    {
        int j = Array.BinarySearch(_thresholds, threshold);
        if (j < 0) throw new ArgumentException($"Threshold {threshold} is not on the sweep grid.", nameof(threshold));
        return Count == 0 ? double.NaN : _iouSums[j] / Count;
    }

    /// <summary>The oracle: the best mIoU and the lowest threshold reaching it.</summary>
    public (double Threshold, double MeanIou) Best()
    {
        int best = 0;
        for (int j = 1; j < _iouSums.Length; j++) if (_iouSums[j] > _iouSums[best]) best = j;
        return (_thresholds[best], Count == 0 ? double.NaN : _iouSums[best] / Count);
    }

    // Number of thresholds strictly below the score (the score is predicted anomalous at exactly those).
    private int CountBelow(double score)
    {
        int lo = 0, hi = _thresholds.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_thresholds[mid] < score) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
