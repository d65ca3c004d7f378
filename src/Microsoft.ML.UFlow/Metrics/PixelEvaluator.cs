namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// Accumulates anomaly maps with their ground-truth masks and computes, exactly and in one pass over the sorted
/// pixels, pixel AUROC, AUPRO (MVTec AD official definition) and pixel F1-max (METHOD.md Part B).
/// </summary>
/// <remarks>
/// <para>Memory: 8 bytes per pixel. Each pixel is packed as (descending score key &lt;&lt; 32) | region id, where the
/// region id is 0 for a normal pixel and otherwise the global index of its 8-connected ground-truth region; each
/// image's pixels are radix-sorted when the image is added, and <see cref="Compute"/> walks the sorted images in global
/// order by key ranges (see <c>SortedRunWalker</c>) with bounded scratch space (32 MB at most) instead of sorting one
/// concatenated copy. Nothing else of the maps is kept.</para>
/// <para>Exact under ties: pixels with equal scores form one curve point. AUROC is computed from integer counts
/// (ties ½); PRO and FPR use double accumulation.</para>
/// </remarks>
public sealed class PixelEvaluator
{
    /// <summary>The FPR limit of AUPRO used by U-Flow and the MVTec AD benchmark.</summary>
    public const double DefaultFprLimit = 0.3;

    private readonly double _fprLimit;
    private readonly List<ulong[]> _runs = [];
    private readonly List<int> _regionSizes = [0]; // index = global region id; entry 0 unused (normal pixels)
    private bool[] _binary = [];
    private ulong[] _scratch = [];
    private int[] _stack = [];
    private int[] _labels = [];
    private long _pixels;
    private long _anomalousPixels;

    /// <summary>Creates an evaluator.</summary>
    /// <param name="fprLimit">Upper FPR limit of the AUPRO integral, in (0, 1]; 0.3 by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">The limit is outside (0, 1].</exception>
    public PixelEvaluator(double fprLimit = DefaultFprLimit)
    {
        if (!(fprLimit > 0 && fprLimit <= 1)) throw new ArgumentOutOfRangeException(nameof(fprLimit), fprLimit, "The AUPRO FPR limit must be in (0, 1].");
        _fprLimit = fprLimit;
    }

    /// <summary>Largest key range gathered and sorted at once by <see cref="Compute"/> (tests lower it to force range cuts).</summary>
    internal int GatherCapacity { get; set; } = SortedRunWalker.DefaultCapacity;

    /// <summary>Maps added so far.</summary>
    public int ImageCount => _runs.Count;

    /// <summary>Pixels added so far.</summary>
    public long PixelCount => _pixels;

    /// <summary>Ground-truth regions seen so far.</summary>
    public int RegionCount => _regionSizes.Count - 1;

    /// <summary>Adds one anomaly map and its ground-truth mask.</summary>
    /// <param name="scores">Anomaly map, row-major height×width (higher = more anomalous).</param>
    /// <param name="groundTruth">Mask of the same size; a pixel is anomalous where the value is &gt; 0.5.</param>
    /// <param name="height">Map rows.</param>
    /// <param name="width">Map columns.</param>
    /// <exception cref="ArgumentException">Sizes disagree or a score is NaN.</exception>
    public void Add(ReadOnlySpan<float> scores, ReadOnlySpan<float> groundTruth, int height, int width)
    {
        GroundTruth.CheckShape(scores.Length, height, width, nameof(scores));
        GroundTruth.CheckSameLength(scores.Length, groundTruth.Length, nameof(groundTruth));
        ScoreKey.ThrowIfNaN(scores, nameof(scores));
        int n = scores.Length;
        if (_binary.Length < n)
        {
            _binary = new bool[n];
            _labels = new int[n];
            _stack = new int[n];
        }
        Span<bool> binary = _binary.AsSpan(0, n);
        Span<int> labels = _labels.AsSpan(0, n);
        GroundTruth.Binarize(groundTruth, binary);
        int components = ConnectedComponents.Label8(binary, height, width, labels, _stack);

        int firstId = _regionSizes.Count;
        if ((long)firstId + components > uint.MaxValue) throw new InvalidOperationException("Too many ground-truth regions for one evaluator.");
        for (int k = 0; k < components; k++) _regionSizes.Add(0);
        Span<int> regionSizes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_regionSizes);
        var run = new ulong[n];
        long anomalous = 0;
        for (int i = 0; i < n; i++)
        {
            uint region = 0;
            int label = labels[i];
            if (label != 0)
            {
                region = (uint)(firstId - 1 + label);
                regionSizes[(int)region]++;
                anomalous++;
            }
            run[i] = ((ulong)ScoreKey.Descending(scores[i]) << 32) | region;
        }
        SortRun(run);
        _runs.Add(run);
        _pixels += n;
        _anomalousPixels += anomalous;
    }

    /// <summary>Adds the anomaly map of a normal image (every pixel is ground-truth normal).</summary>
    /// <exception cref="ArgumentException">A score is NaN.</exception>
    public void AddNormal(ReadOnlySpan<float> scores)
    {
        ScoreKey.ThrowIfNaN(scores, nameof(scores));
        var run = new ulong[scores.Length];
        for (int i = 0; i < run.Length; i++) run[i] = (ulong)ScoreKey.Descending(scores[i]) << 32;
        SortRun(run);
        _runs.Add(run);
        _pixels += run.Length;
    }

    /// <summary>Computes pixel AUROC, AUPRO and F1-max over everything added.</summary>
    public PixelMetrics Compute()
    {
        int regions = _regionSizes.Count - 1;
        var inverseSize = new double[_regionSizes.Count];
        for (int r = 1; r < inverseSize.Length; r++) inverseSize[r] = 1.0 / _regionSizes[r];
        long positives = _anomalousPixels;
        long negatives = _pixels - positives;

        var curve = new CurveSink(inverseSize, positives, negatives, regions, _fprLimit);
        SortedRunWalker.Walk(_runs, ref curve, GatherCapacity);
        curve.Finish();

        bool proDefined = negatives > 0 && regions > 0;
        double aupro = proDefined ? curve.Pro.Area / _fprLimit : double.NaN;
        double f1Max = positives > 0 ? curve.BestF1 : double.NaN;
        float threshold = positives > 0 ? ScoreKey.FromDescending(curve.BestKey) : float.NaN;
        return new PixelMetrics(curve.Auroc.Result, aupro, _fprLimit, f1Max, threshold, _runs.Count, _pixels, positives, regions);
    }

    /// <summary>
    /// Walks the pixels in descending score order and records one curve point (ROC, PRO, F1) after each group of
    /// equal scores.
    /// </summary>
    private struct CurveSink(double[] inverseSize, long positives, long negatives, int regions, double fprLimit) : ISegmentSink
    {
        public RocAuc.Accumulator Auroc;
        public ProCurveIntegrator Pro = new(fprLimit);
        public double BestF1 = double.NegativeInfinity;
        public uint BestKey;
        private readonly bool _proDefined = negatives > 0 && regions > 0;
        private double _proSum;
        private long _truePositives, _falsePositives;
        private long _groupPositives, _groupNegatives;
        private uint _currentKey;

        public void Consume(ReadOnlySpan<ulong> segment)
        {
            double[] inverse = inverseSize;
            int i = 0;
            while (i < segment.Length)
            {
                uint key = (uint)(segment[i] >> 32);
                if (key != _currentKey) CloseGroup();
                _currentKey = key;
                long groupPositives = _groupPositives, groupNegatives = _groupNegatives;
                double proSum = _proSum;
                for (; i < segment.Length && (uint)(segment[i] >> 32) == key; i++)
                {
                    uint region = (uint)segment[i];
                    if (region == 0)
                    {
                        groupNegatives++;
                    }
                    else
                    {
                        groupPositives++;
                        proSum += inverse[region];
                    }
                }
                _groupPositives = groupPositives;
                _groupNegatives = groupNegatives;
                _proSum = proSum;
            }
        }

        public void Finish()
        {
            CloseGroup();
            if (_proDefined) Pro.AddPoint(1.0, 1.0); // the official curve appends (1, 1)
        }

        private void CloseGroup()
        {
            if (_groupPositives + _groupNegatives == 0) return;
            Auroc.AddGroup(_groupPositives, _groupNegatives);
            _truePositives += _groupPositives;
            _falsePositives += _groupNegatives;
            double f1 = 2.0 * _truePositives / (_truePositives + _falsePositives + positives);
            if (f1 > BestF1)
            {
                BestF1 = f1;
                BestKey = _currentKey;
            }
            if (_proDefined) Pro.AddPoint((double)_falsePositives / negatives, Math.Min(_proSum / regions, 1.0));
            _groupPositives = _groupNegatives = 0;
        }
    }

    private void SortRun(ulong[] run)
    {
        if (_scratch.Length < run.Length) _scratch = new ulong[run.Length];
        RadixSort.SortByHighHalf(run, _scratch);
    }
}
