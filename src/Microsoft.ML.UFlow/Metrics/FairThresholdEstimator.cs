namespace Microsoft.ML.UFlow.Metrics;

/// <summary>
/// The "fair" threshold of the U-Flow paper for methods without an automatic threshold
/// (<c>uflow:src/evaluate.py::get_fair_threshold</c>): pool the anomaly-map scores of all training (normal) pixels,
/// take the ROC curve with every label negative, and read the threshold at pixel FPR = 1/65536 (one false-positive
/// pixel per 256×256 training image on average) by linear interpolation of threshold against FPR.
/// </summary>
/// <remarks>
/// Reproduces the reference exactly: sklearn 1.2 <c>roc_curve</c> with its default <c>drop_intermediate=True</c>
/// (a point between two others is dropped when the three are collinear, i.e. when the two neighbouring groups of
/// equal scores have the same size; so with all-distinct scores only the first and last points remain), the first
/// threshold (max score + 1, in float32) prepended at FPR 0, then <c>scipy.interpolate.interp1d</c> (linear,
/// left-searchsorted interval, float32 threshold difference). Keeps 4 bytes per training pixel (plus as much again while sorting), because the kept
/// curve points near the target may lie anywhere in the sorted list.
/// </remarks>
public sealed class FairThresholdEstimator
{
    /// <summary>The paper's target FPR: 1/(256·256).</summary>
    public const double DefaultTargetFalsePositiveRate = 1.0 / 65536;

    private uint[] _keys = new uint[1 << 16]; // ScoreKey.Ascending of each score
    private int _count;
    private bool _sorted;

    /// <summary>Training pixels added.</summary>
    public long Count => _count;

    /// <summary>Adds the anomaly map (or any scores) of one training image.</summary>
    /// <exception cref="ArgumentException">A score is NaN.</exception>
    /// <exception cref="InvalidOperationException">More than 2^31 − 1 pixels in total.</exception>
    public void Add(ReadOnlySpan<float> scores)
    {
        ScoreKey.ThrowIfNaN(scores, nameof(scores));
        if ((long)_count + scores.Length > Array.MaxLength) throw new InvalidOperationException("Too many training pixels for the fair-threshold estimator.");
        if (_count + scores.Length > _keys.Length)
        {
            long grown = Math.Max((long)_keys.Length * 2, (long)_count + scores.Length);
            Array.Resize(ref _keys, (int)Math.Min(grown, Array.MaxLength));
        }
        Span<uint> keys = _keys.AsSpan(_count, scores.Length);
        for (int i = 0; i < scores.Length; i++) keys[i] = ScoreKey.Ascending(scores[i]);
        _count += scores.Length;
        _sorted = false;
    }

    /// <summary>The threshold whose FPR on the training pixels is <paramref name="targetFalsePositiveRate"/> (interpolated).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The target is outside (0, 1].</exception>
    /// <exception cref="InvalidOperationException">No score was added.</exception>
    public double Compute(double targetFalsePositiveRate = DefaultTargetFalsePositiveRate)
    {
        if (!(targetFalsePositiveRate > 0 && targetFalsePositiveRate <= 1)) throw new ArgumentOutOfRangeException(nameof(targetFalsePositiveRate), targetFalsePositiveRate, "The target FPR must be in (0, 1].");
        if (_count == 0) throw new InvalidOperationException("No training scores were added; the fair threshold needs the maps of normal training images.");
        if (!_sorted)
        {
            RadixSort.Sort(_keys.AsSpan(0, _count), new uint[_count]); // the scratch lives only during the sort
            _sorted = true;
        }
        var groups = new GroupWalker(_keys.AsSpan(0, _count));
        double n = _count;

        // Curve points in order; (x, y) = (FPR, threshold). The first is (0, max + 1).
        groups.TryNext(out float firstValue, out long firstCount);
        double previousX = 0;
        float previousY = firstValue + 1f;
        bool hasMiddle = groups.TryNext(out float nextValue, out long nextCount);
        bool dropIntermediate = hasMiddle && groups.HasMore; // sklearn drops only when there are more than 2 groups
        float value = firstValue;
        long count = firstCount, before = 0;
        bool first = true;
        while (true)
        {
            bool isLast = !hasMiddle;
            bool kept = first || isLast || !dropIntermediate || (nextCount - count) != (count - before);
            if (kept)
            {
                double x = count / n;
                if (x >= targetFalsePositiveRate) return Interpolate(previousX, previousY, x, value, targetFalsePositiveRate);
                previousX = x;
                previousY = value;
            }
            if (isLast) break;
            first = false;
            before = count;
            value = nextValue;
            count = nextCount;
            hasMiddle = groups.TryNext(out nextValue, out nextCount);
        }
        throw new InvalidOperationException("Unreachable: the last ROC point has FPR 1."); // x reaches 1 at the last group
    }

    private static double Interpolate(double xLow, float yLow, double xHigh, float yHigh, double x)
    {
        float rise = yHigh - yLow; // float32, as interp1d on float32 thresholds
        double slope = rise / (xHigh - xLow);
        return slope * (x - xLow) + yLow;
    }

    // Groups of equal keys of an ascending key array, visited from the largest; yields (score, cumulative count).
    private ref struct GroupWalker(ReadOnlySpan<uint> ascending)
    {
        private readonly ReadOnlySpan<uint> _values = ascending;
        private int _end = ascending.Length;

        public readonly bool HasMore => _end > 0;

        public bool TryNext(out float value, out long cumulative)
        {
            if (_end == 0)
            {
                value = 0;
                cumulative = 0;
                return false;
            }
            uint key = _values[_end - 1];
            value = ScoreKey.FromAscending(key);
            int start = _end - 1;
            while (start > 0 && _values[start - 1] == key) start--;
            _end = start;
            cumulative = _values.Length - start;
            return true;
        }
    }
}
